"""Soak: mixed traffic against one Necktie server process for a while, its resident memory sampled throughout.

    .venv/bin/python benchmarks/soak.py --record       # 10 minutes, the result into RESULTS.md ("Soak")
    .venv/bin/python benchmarks/soak.py --minutes 1.5  # a short run to see that it works

Run it with the repository's test virtualenv (it needs Necktie and `websockets`). The server runs in a
child process (``soak.py --serve PORT``) with an 8 MiB body limit; worker threads in this process
repeat, in random order, keep-alive requests, pipelined requests, uploads (Content-Length and chunked),
downloads, a duplex stream, uploads and downloads aborted mid-way with a reset, bodies rejected with 413
(declared too large, and chunked past the limit), and websocket sessions, some of them aborted. The
server's RSS is read from ``/proc`` every few seconds. The verdict compares the RSS at the end (after
the traffic stops and the server had a moment to go idle) with the RSS after the first minute (after the
first fifth of a shorter run): the soak passes when it ended within ``--tolerance-mib`` of it and no
exchange failed in a way its scenario did not expect. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from loadclient import ProtocolError, Reader, connect

MIB = 1 << 20
SOAK_HEADING = "## Soak"
SOAK_ABOUT = (
    "`benchmarks/soak.py` (see its docstring): mixed traffic against one server process (keep-alive, "
    "pipelining, uploads, downloads, a duplex stream, aborts mid-transfer, 413 rejections, websockets), "
    "its RSS sampled; it passes when the RSS at the end is within the tolerance of the RSS after the first "
    "minute."
)
BODY_LIMIT = 8 * MIB
BLOCK = b"s" * 65536


# -- the server -----------------------------------------------------------------------------------------
def serve(port: int) -> None:
    """The soak app on 127.0.0.1:*port* (run in the child process)."""
    from pynecktie import Necktie
    from pynecktie.response import raw, stream, text

    app = Necktie("soak")
    app.config.update_config({"ACCESS_LOG": False, "REQUEST_MAX_SIZE": BODY_LIMIT})

    @app.get("/hello")
    async def hello(request):
        return text("Hello, world!")

    @app.post("/echo")
    async def echo(request):
        return raw(request.body)

    @app.post("/upload", stream=True, max_body_size=None)
    async def upload(request):
        n = 0
        while (chunk := await request.stream.get()) is not None:
            n += len(chunk)
        return text(str(n))

    @app.post("/duplex", stream=True)
    async def duplex(request):
        async def write(response):
            while (chunk := await request.stream.get()) is not None:
                await response.write(chunk)

        return stream(write, content_type="application/octet-stream")

    @app.get("/download")
    async def download(request):
        blocks = int(request.args.get("mib", "1")) * 16

        async def write(response):
            for _ in range(blocks):
                await response.write(BLOCK)

        return stream(write, content_type="application/octet-stream")

    @app.websocket("/ws")
    async def ws_echo(request, ws):
        async for message in ws:
            await ws.send(message)

    app.run(host="127.0.0.1", port=port, access_log=False)


# -- the scenarios (each one exchange or a few on one connection; an unexpected answer raises) ----------
def _request(sock: socket.socket, method: str, path: str, headers: str = "", body: bytes = b"") -> None:
    sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: soak\r\n{headers}\r\n".encode() + body)


def _answer(reader: Reader, status: int = 200) -> bytes:
    got, headers = reader.read_head()
    _, body = reader.read_body(headers, keep=True)
    if got != status:
        raise ProtocolError(f"status {got}, expected {status}")
    return body


def _reset(sock: socket.socket) -> None:
    """Close with a reset (SO_LINGER 0), as a client that crashes or times out does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def keep_alive(port: int, rng: random.Random) -> None:
    with connect(port) as sock:
        reader = Reader(sock)
        for _ in range(20):
            _request(sock, "GET", "/hello")
            _answer(reader)


def pipelined(port: int, rng: random.Random) -> None:
    with connect(port) as sock:
        reader = Reader(sock)
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: soak\r\n\r\n" * 32)
        for _ in range(32):
            _answer(reader)


def upload(port: int, rng: random.Random) -> None:
    size = rng.randint(1, 4) * MIB
    with connect(port) as sock:
        _request(sock, "POST", "/upload", f"Content-Length: {size}\r\n")
        for _ in range(size // len(BLOCK)):
            sock.sendall(BLOCK)
        if _answer(Reader(sock)) != str(size).encode():
            raise ProtocolError("upload size mismatch")


def upload_chunked(port: int, rng: random.Random) -> None:
    with connect(port) as sock:
        _request(sock, "POST", "/upload", "Transfer-Encoding: chunked\r\n")
        frame = b"%x\r\n%s\r\n" % (len(BLOCK), BLOCK)
        for _ in range(32):
            sock.sendall(frame)
        sock.sendall(b"0\r\n\r\n")
        if _answer(Reader(sock)) != str(32 * len(BLOCK)).encode():
            raise ProtocolError("chunked upload size mismatch")


def echo(port: int, rng: random.Random) -> None:
    body = rng.randbytes(rng.randint(0, 256 * 1024))
    with connect(port) as sock:
        _request(sock, "POST", "/echo", f"Content-Length: {len(body)}\r\n", body)
        if _answer(Reader(sock)) != body:
            raise ProtocolError("echo mismatch")


def duplex(port: int, rng: random.Random) -> None:
    body = rng.randbytes(256 * 1024)  # small enough for the socket buffers: sent whole, then read
    with connect(port) as sock:
        _request(sock, "POST", "/duplex", f"Content-Length: {len(body)}\r\n", body)
        if _answer(Reader(sock)) != body:
            raise ProtocolError("duplex mismatch")


def download(port: int, rng: random.Random) -> None:
    mib = rng.randint(1, 8)
    with connect(port) as sock:
        _request(sock, "GET", f"/download?mib={mib}")
        reader = Reader(sock)
        status, headers = reader.read_head()
        length, _ = reader.read_body(headers, keep=False)
        if status != 200 or length != mib * MIB:
            raise ProtocolError(f"download: {status}, {length} bytes")


def abort_download(port: int, rng: random.Random) -> None:
    sock = connect(port)
    _request(sock, "GET", "/download?mib=256")
    got = 0
    while got < rng.randint(64, 1024) * 1024:
        got += len(sock.recv(65536))
    _reset(sock)


def abort_upload(port: int, rng: random.Random) -> None:
    sock = connect(port)
    _request(sock, "POST", "/upload", f"Content-Length: {64 * MIB}\r\n")
    for _ in range(rng.randint(1, 32)):
        sock.sendall(BLOCK)
    _reset(sock)


def reject_declared(port: int, rng: random.Random) -> None:
    with connect(port) as sock:
        _request(sock, "POST", "/echo", f"Content-Length: {BODY_LIMIT * 4}\r\n")
        _answer(Reader(sock), 413)


def reject_chunked(port: int, rng: random.Random) -> None:
    """Chunks past the limit of a buffered route: 413, and the body received so far must be freed."""
    with connect(port) as sock:
        _request(sock, "POST", "/echo", "Transfer-Encoding: chunked\r\n")
        chunk = b"%x\r\n%s\r\n" % (MIB, b"r" * MIB)
        with contextlib.suppress(OSError):  # the server may close while chunks are still going out
            for _ in range(BODY_LIMIT // MIB + 4):
                sock.sendall(chunk)
        _answer(Reader(sock), 413)


def websocket(port: int, rng: random.Random) -> None:
    from websockets.sync.client import connect as ws_connect

    with ws_connect(f"ws://127.0.0.1:{port}/ws", open_timeout=30, close_timeout=10) as ws:
        for _ in range(20):
            message = rng.randbytes(rng.randint(1, 16384))
            ws.send(message)
            if ws.recv(timeout=30) != message:
                raise ProtocolError("websocket echo mismatch")


def abort_websocket(port: int, rng: random.Random) -> None:
    from websockets.sync.client import connect as ws_connect

    ws = ws_connect(f"ws://127.0.0.1:{port}/ws", open_timeout=30)
    ws.send(b"x" * 1000)
    _reset(ws.socket)


SCENARIOS: dict[str, Callable[[int, random.Random], None]] = {
    f.__name__: f for f in (keep_alive, pipelined, upload, upload_chunked, echo, duplex, download,
                            abort_download, abort_upload, reject_declared, reject_chunked, websocket,
                            abort_websocket)
}


# -- the run --------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def start_server() -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], stdout=subprocess.DEVNULL)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return proc, port
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the soak server did not start")


def worker(port: int, seed: int, deadline: float, done: Counter[str], failed: Counter[str],
           lock: threading.Lock) -> None:
    rng = random.Random(seed)
    names = list(SCENARIOS)
    while time.monotonic() < deadline:
        name = rng.choice(names)
        try:
            SCENARIOS[name](port, rng)
        except Exception as exc:  # counted and reported, the soak goes on
            with lock:
                failed[f"{name}: {type(exc).__name__}: {exc}"[:160]] += 1
        else:
            with lock:
                done[name] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--tolerance-mib", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--record", action="store_true", help='write the result into RESULTS.md ("Soak")')
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0

    head = git_head()  # the code the server runs (read now: the tree may move during a long run)
    proc, port = start_server()
    seconds = args.minutes * 60
    settle_at = min(60.0, seconds / 5)  # the baseline: after the first minute (a fifth of a short run)
    done: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    lock = threading.Lock()
    start = time.monotonic()
    deadline = start + seconds
    threads = [
        threading.Thread(target=worker, args=(port, args.seed + i, deadline, done, failed, lock), daemon=True)
        for i in range(args.workers)
    ]
    for thread in threads:
        thread.start()
    samples: list[tuple[float, int]] = []
    try:
        while any(t.is_alive() for t in threads):
            samples.append((time.monotonic() - start, rss(proc.pid)))
            elapsed, now = samples[-1]
            print(f"{elapsed:7.0f} s  RSS {now / MIB:7.1f} MiB  exchanges {sum(done.values())}", flush=True)
            time.sleep(args.sample)
        for thread in threads:
            thread.join()
        time.sleep(max(args.sample, 6.0))  # idle: keep-alive connections time out, aborted ones are gone
        end_rss = rss(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    baseline = next((r for t, r in samples if t >= settle_at), samples[-1][1])
    peak = max(r for _, r in samples)
    growth = (end_rss - baseline) / MIB
    ok = growth <= args.tolerance_mib and not failed
    step = max(1, len(samples) // 24)
    lines = [
        f"{args.minutes:g} minutes, {args.workers} workers, {sum(done.values())} exchanges, "
        f"on {time.strftime('%Y-%m-%d %H:%M %Z')} ({head}); `{' '.join(['soak.py', *sys.argv[1:]])}`",
        "",
        f"- RSS after {settle_at:.0f} s: {baseline / MIB:.1f} MiB; at the end, idle: {end_rss / MIB:.1f} MiB "
        f"(**{growth:+.1f} MiB**; tolerance {args.tolerance_mib:g} MiB); peak {peak / MIB:.1f} MiB",
        f"- RSS (MiB) every {args.sample * step:g} s from the start: "
        + " ".join(f"{r / MIB:.0f}" for _, r in samples[::step]),
        "- exchanges: " + ", ".join(f"{name} {done[name]}" for name in SCENARIOS),
        "- unexpected failures: " + (", ".join(f"{k} (x{n})" for k, n in failed.most_common()) or "none"),
        f"- verdict: **{'PASS' if ok else 'FAIL'}**",
    ]
    print("\n" + "\n".join(lines))
    if args.record:
        record(lines)
    return 0 if ok else 1


def git_head() -> str:
    """The commit under test, as ``git describe`` would name it (or "unknown")."""
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent)
    return result.stdout.strip() or "unknown"


def record(lines: list[str]) -> None:
    """Put the result in RESULTS.md as its "Soak" section (replacing the last one; run.py keeps it)."""
    from harness import record_section

    record_section(SOAK_HEADING, [SOAK_ABOUT, "", *lines])


if __name__ == "__main__":
    sys.exit(main())
