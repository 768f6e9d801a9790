"""Load generator of the WebSocket echo benchmark (benchmarks/ws_echo.py): raw frames over asyncio.

    python ws_client.py PORT CONNECTIONS WARMUP_S SECONDS [SIZE]

Opens CONNECTIONS websockets to 127.0.0.1:PORT/ws (no extension offered, so every server sends plain
frames), then on each keeps exactly one SIZE-byte text message in flight: the next is sent when the echo
of the last has arrived and been checked. After WARMUP_S it prints ``{"measuring": true}``, counts the
echoes and their round trips for SECONDS, prints ``{"measured": true}``, then the result as one JSON
line. Every frame is pre-built and masked once per connection, so the client's work per message is one
read, one compare and one write. Bounded: every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import resource
import sys
import time
from array import array

HOST = "127.0.0.1"


class EchoClient(asyncio.Protocol):
    def __init__(self, stats: Stats, payload: bytes) -> None:
        self.stats = stats
        self.transport: asyncio.Transport | None = None
        self.handshaken = asyncio.get_running_loop().create_future()
        self.buf = b""
        self.head = True
        self.payload = payload
        key = os.urandom(4)
        masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        assert len(payload) < 126
        self.frame = bytes([0x81, 0x80 | len(payload)]) + key + masked
        self.sent_at = 0.0
        self.running = False
        self.in_flight = False
        self.error: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write(
            f"GET /ws HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def send_next(self) -> None:
        self.in_flight = True
        self.sent_at = time.perf_counter()
        self.transport.write(self.frame)

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        if self.head:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.fail(f"handshake refused: {buf[:60]!r}")
                return
            self.head = False
            buf = buf[end + 4 :]
            self.handshaken.set_result(None)
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            n, start = b1 & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, start = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                self.fail("unexpectedly large frame")
                return
            if len(buf) < start + n:
                break
            body, buf = buf[start : start + n], buf[start + n :]
            opcode = b0 & 0x0F
            if opcode == 1:
                if body != self.payload:
                    self.fail(f"wrong echo {body[:40]!r}")
                    return
                self.stats.echoed(time.perf_counter() - self.sent_at)
                self.in_flight = False
                if self.running:
                    self.send_next()
            elif opcode == 9:  # ping: pong with the same data
                mask = os.urandom(4)
                masked = bytes(b ^ mask[i % 4] for i, b in enumerate(body))
                self.transport.write(bytes([0x8A, 0x80 | n]) + mask + masked)
            elif opcode == 8:
                self.fail("server closed the connection")
                return
        self.buf = buf

    def fail(self, why: str) -> None:
        self.error = self.error or why
        self.running = False
        if not self.handshaken.done():
            self.handshaken.set_exception(RuntimeError(why))
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.running or not self.handshaken.done():
            self.fail(f"connection lost: {exc}")


class Stats:
    def __init__(self) -> None:
        self.recording = False
        self.count = 0
        self.rtts = array("d")

    def echoed(self, rtt: float) -> None:
        if self.recording:
            self.count += 1
            self.rtts.append(rtt)


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def main(port: int, conns: int, warmup: float, seconds: float, size: int) -> dict:
    loop = asyncio.get_running_loop()
    stats = Stats()
    payload = (b"necktie-echo-" * 10)[:size]
    clients: list[EchoClient] = []
    t_open = time.perf_counter()
    for _ in range(conns):
        _, client = await asyncio.wait_for(
            loop.create_connection(lambda: EchoClient(stats, payload), HOST, port), 10
        )
        await asyncio.wait_for(client.handshaken, 10)
        clients.append(client)
    opened = time.perf_counter() - t_open
    for c in clients:
        c.running = True
        c.send_next()
    await asyncio.sleep(warmup)
    print(json.dumps({"measuring": True}), flush=True)
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    stats.recording = True
    await asyncio.sleep(seconds)
    stats.recording = False
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    print(json.dumps({"measured": True}), flush=True)
    for c in clients:
        c.running = False
    deadline = time.monotonic() + 5
    while any(c.in_flight and c.error is None for c in clients) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    errors = [c.error for c in clients if c.error]
    for c in clients:
        if c.transport is not None:
            c.transport.abort()
    rtts = sorted(stats.rtts)
    def pct(p: float) -> float:
        return rtts[min(len(rtts) - 1, int(p * len(rtts)))] * 1e3 if rtts else float("nan")
    return {
        "messages": stats.count,
        "seconds": elapsed,
        "msgs_per_s": stats.count / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "client_busy_pct": 100.0 * cpu / elapsed,
        "open_seconds": opened,
        "errors": errors[:3],
        "error_count": len(errors),
    }


if __name__ == "__main__":
    port, conns, warmup, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    size = int(sys.argv[5]) if len(sys.argv) > 5 else 32
    try:
        import uvloop
        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        result = runner(main(port, conns, warmup, seconds, size))
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(result), flush=True)
