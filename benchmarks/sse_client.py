"""Load generator of the SSE fan-out benchmark (benchmarks/sse_fanout.py): many subscribers over asyncio.

    python sse_client.py PORT SUBSCRIBERS RATE SECONDS GRACE

Opens SUBSCRIBERS ``GET /sse`` streams to 127.0.0.1:PORT (50 at a time), waits until the event source
counts them all, then asks for one broadcast (``GET /start?rate=RATE&seconds=SECONDS``), printing
``{"measuring": true}``. Every event's data is ``t=<due>;n=<seq>`` (apps/fanout.py): on arrival its
delivery latency is now − due, on the one clock (CLOCK_MONOTONIC) both processes read. The window ends
when every subscriber has every event or GRACE seconds after the broadcast's end, whichever is first
(``{"measured": true}``); then the result is printed as one JSON line. Bytes are scanned for complete
``t=...;n=...`` lines only, so the chunk framing around them does not matter.
"""

from __future__ import annotations

import asyncio
import json
import re
import resource
import sys
import time
from array import array

HOST = "127.0.0.1"
EVENT = re.compile(rb"t=(\d+);n=\d+\r?\n")


class Subscriber(asyncio.Protocol):
    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.transport: asyncio.Transport | None = None
        self.head = True
        self.ready = asyncio.get_running_loop().create_future()
        self.tail = b""
        self.events = 0
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(
            f"GET /sse HTTP/1.1\r\nHost: {HOST}\r\nAccept: text/event-stream\r\n\r\n".encode())

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        buf = self.tail + data if self.tail else data
        if self.head:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.tail = buf
                return
            if not buf.startswith(b"HTTP/1.1 200"):
                self.ready.set_exception(RuntimeError(f"answered {buf[:60]!r}"))
                return
            self.head = False
            buf = buf[end + 4 :]
            self.ready.set_result(None)
        cut = buf.rfind(b"\n") + 1
        self.tail = buf[cut:]
        if cut:
            dues = EVENT.findall(buf, 0, cut)
            if dues:
                self.events += len(dues)
                self.sink.arrived(now, dues)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.cancel()  # no head yet (some servers send it with the first event): nothing to report


class Sink:
    def __init__(self) -> None:
        self.latencies = array("q")  # ns
        self.total = 0
        self.reads = 0  # reads that brought events
        self.last = 0

    def arrived(self, now: int, dues: list[bytes]) -> None:
        self.reads += 1
        self.total += len(dues)
        self.last = now
        self.latencies.extend([now - int(d) for d in dues])


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def start(port: int, rate: float, seconds: float) -> bytes:
    """GET /start: a broadcast (or, for 0 seconds, only the subscriber count); the whole answer."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(f"GET /start?rate={rate:g}&seconds={seconds:g} HTTP/1.1\r\nHost: {HOST}\r\n"
                 "Connection: close\r\n\r\n".encode())
    try:
        return await reader.read()
    finally:
        writer.close()


async def main(port: int, n: int, rate: float, seconds: float, grace: float) -> dict:
    loop = asyncio.get_running_loop()
    sink = Sink()
    subs: list[Subscriber] = []
    t_open = time.perf_counter()
    for i in range(0, n, 50):
        batch = await asyncio.wait_for(asyncio.gather(*(
            loop.create_connection(lambda: Subscriber(sink), HOST, port) for _ in range(min(50, n - i)))), 30)
        subs += [proto for _, proto in batch]
    # Every handler has subscribed (some servers send the head only with the first event): asked of the
    # event source itself, with a broadcast of no events.
    deadline = time.perf_counter() + 30
    while not (await asyncio.wait_for(start(port, 1, 0), 10)).endswith(f"\r\n{n} subscribers".encode()):
        if time.perf_counter() > deadline or any(s.closed for s in subs):
            raise RuntimeError("the subscribers did not all reach the event source within 30 s")
        await asyncio.sleep(0.05)
    opened = time.perf_counter() - t_open
    expected = int(rate * seconds) * n
    print(json.dumps({"measuring": True}), flush=True)
    cpu0, t0, t0_ns = cpu_seconds(), time.perf_counter(), time.monotonic_ns()
    # The answer to /start may come late from a server swamped by the broadcast it just started.
    starter = asyncio.ensure_future(start(port, rate, seconds))
    end = time.perf_counter() + seconds + grace
    while sink.total < expected and time.perf_counter() < end:
        await asyncio.sleep(0.01)
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    print(json.dumps({"measured": True}), flush=True)
    answer = await asyncio.wait_for(starter, 30)
    if b" 200 " not in answer.split(b"\r\n", 1)[0]:
        raise RuntimeError(f"/start answered {answer[:80]!r}")
    delivered = sink.total
    refused = [s.ready.exception() for s in subs
               if s.ready.done() and not s.ready.cancelled() and s.ready.exception()]
    if refused:
        raise RuntimeError(f"{len(refused)} subscriber(s) refused: {refused[0]}")
    for s in subs:
        s.transport.abort()
    lat = sorted(sink.latencies)
    missing = expected - delivered

    def pct(p: float) -> float | None:
        """The p-quantile of every expected event's latency in ms; an event not delivered counts as
        later than any delivered one (None if the quantile falls among those)."""
        k = int(p * expected)
        return lat[k] / 1e6 if k < len(lat) else None

    span = max(1e-9, (sink.last - t0_ns) / 1e9) if delivered else elapsed
    return {
        "expected": expected,
        "delivered": delivered,
        "missing": missing,
        "events_per_s": delivered / span,
        "seconds": elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": lat[-1] / 1e6 if lat else None,
        "client_busy_pct": 100.0 * cpu / elapsed,
        "open_seconds": opened,
        "closed_early": sum(s.closed for s in subs),
        "events_per_read": delivered / sink.reads if sink.reads else None,
    }


if __name__ == "__main__":
    port, n, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    seconds, grace = float(sys.argv[4]), float(sys.argv[5])
    try:
        import resource as _r

        soft, hard = _r.getrlimit(_r.RLIMIT_NOFILE)
        _r.setrlimit(_r.RLIMIT_NOFILE, (min(max(soft, n + 100), hard), hard))
        import uvloop
        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        result = runner(main(port, n, rate, seconds, grace))
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(result), flush=True)
