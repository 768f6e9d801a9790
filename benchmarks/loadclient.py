"""Small HTTP/1.1 load client for the throughput and connection-memory tests.

It speaks just enough HTTP over plain blocking sockets to move bytes as fast as
one Python thread can: no HTTP library, no event loop, large recv_into/sendall
calls, and chunk framing parsed per chunk (not per byte). Each mode prints one
JSON object on stdout. Standard library only; every socket has a timeout, and
only 127.0.0.1 is ever contacted.

  python loadclient.py download PORT MIB            GET /stream?mb=MIB
  python loadclient.py upload   PORT MIB cl|chunked POST /upload, MIB MiB body
  python loadclient.py conns    PORT N              hold N idle keep-alive connections

`conns` opens N connections, sends one GET /hello on each and reads the answer,
prints {"ready": N} and then waits (at most 120 s) for a line on stdin before
closing them, so the caller can measure the server while they are open.
"""

from __future__ import annotations

import json
import resource
import select
import socket
import sys
import time

HOST = "127.0.0.1"
TIMEOUT = 60.0
RECV_SIZE = 1 << 20
MIB = 1 << 20
CHUNK = 64 * 1024


class ProtocolError(Exception):
    pass


def connect(port: int) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class Reader:
    """Buffered reader over a socket; keeps leftover bytes between calls."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray(RECV_SIZE)
        self.view = memoryview(self.buf)
        self.start = 0  # unread data is buf[start:end]
        self.end = 0

    def fill(self) -> int:
        """Read more data, compacting first. Returns bytes read; raises on EOF."""
        if self.start == self.end:
            self.start = self.end = 0
        elif self.start > 0 and self.end == len(self.buf):
            n = self.end - self.start
            self.buf[:n] = self.buf[self.start : self.end]
            self.start, self.end = 0, n
        if self.end == len(self.buf):
            raise ProtocolError("header or framing line too long")
        got = self.sock.recv_into(self.view[self.end :])
        if not got:
            raise ProtocolError("connection closed by server")
        self.end += got
        return got

    def read_head(self) -> tuple[int, dict[str, str]]:
        while True:
            idx = self.buf.find(b"\r\n\r\n", self.start, self.end)
            if idx >= 0:
                break
            self.fill()
        head = bytes(self.buf[self.start : idx]).decode("latin-1")
        self.start = idx + 4
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise ProtocolError(f"bad status line: {lines[0]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(parts[1]), headers

    def read_line(self) -> bytes:
        while True:
            idx = self.buf.find(b"\n", self.start, self.end)
            if idx >= 0:
                line = bytes(self.buf[self.start : idx]).rstrip(b"\r")
                self.start = idx + 1
                return line
            self.fill()

    def skip(self, n: int, keep: bool = False) -> bytes:
        """Consume n body bytes (returned only when keep=True)."""
        out = bytearray() if keep else None
        while n:
            if self.start == self.end:
                self.fill()
            take = min(n, self.end - self.start)
            if keep:
                out += self.buf[self.start : self.start + take]
            self.start += take
            n -= take
        return bytes(out) if keep else b""

    def read_body(self, headers: dict[str, str], keep: bool) -> tuple[int, bytes]:
        """Read a whole response body. Returns (body length, body if keep)."""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            total = 0
            kept = []
            while True:
                line = self.read_line()
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise ProtocolError(f"bad chunk size line: {line[:40]!r}") from None
                if size == 0:
                    while self.read_line():  # trailers, then the empty line
                        pass
                    return total, b"".join(kept)
                data = self.skip(size, keep)
                if keep:
                    kept.append(data)
                total += size
                if self.read_line():
                    raise ProtocolError("chunk data not followed by CRLF")
        if "content-length" in headers:
            n = int(headers["content-length"])
            return n, self.skip(n, keep)
        raise ProtocolError("response has neither Content-Length nor chunked encoding")


def download(port: int, mib: int) -> dict:
    sock = connect(port)
    reader = Reader(sock)
    t0 = time.perf_counter()
    sock.sendall(f"GET /stream?mb={mib} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
    status, headers = reader.read_head()
    if status != 200:
        raise ProtocolError(f"status {status}")
    nbytes, _ = reader.read_body(headers, keep=False)
    elapsed = time.perf_counter() - t0
    sock.close()
    expected = mib * MIB
    if nbytes != expected:
        raise ProtocolError(f"got {nbytes} body bytes, expected {expected}")
    return {
        "bytes": nbytes,
        "seconds": elapsed,
        "gbps": nbytes / elapsed / 1e9,
        "chunked": "chunked" in headers.get("transfer-encoding", ""),
    }


def upload(port: int, mib: int, mode: str, verify: bool) -> dict:
    total = mib * MIB
    if mode == "cl":
        head = (
            f"POST /upload HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {total}\r\n\r\n"
        )
        block = memoryview(bytes(MIB))  # 1 MiB per sendall
        tail = b""
    elif mode == "chunked":
        head = (
            f"POST /upload HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        # 16 framed 64 KiB chunks = 1 MiB of payload per sendall.
        one = f"{CHUNK:x}\r\n".encode() + bytes(CHUNK) + b"\r\n"
        block = memoryview(one * (MIB // CHUNK))
        tail = b"0\r\n\r\n"
    else:
        raise SystemExit(f"unknown upload mode {mode!r}")
    sock = connect(port)
    reader = Reader(sock)
    t0 = time.perf_counter()
    sock.sendall(head.encode())
    for _ in range(mib):
        sock.sendall(block)
    if tail:
        sock.sendall(tail)
    status, headers = reader.read_head()
    _, body = reader.read_body(headers, keep=True)
    elapsed = time.perf_counter() - t0
    sock.close()
    if status != 200:
        raise ProtocolError(f"status {status}: {body[:200]!r}")
    if verify and body.strip() != str(total).encode():
        raise ProtocolError(f"server counted {body[:40]!r}, sent {total}")
    return {"bytes": total, "seconds": elapsed, "gbps": total / elapsed / 1e9}


def conns(port: int, n: int) -> dict:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    request = f"GET /hello HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode()
    socks: list[socket.socket] = []
    batch = 50  # stay well under every server's listen backlog
    t0 = time.perf_counter()
    while len(socks) < n:
        group = []
        for _ in range(min(batch, n - len(socks))):
            sock = connect(port)
            sock.sendall(request)
            group.append(sock)
        for sock in group:
            reader = Reader(sock)
            status, headers = reader.read_head()
            reader.read_body(headers, keep=False)
            if status != 200:
                raise ProtocolError(f"status {status}")
            if reader.start != reader.end:
                raise ProtocolError("unexpected extra bytes after response")
        socks.extend(group)
    opened = time.perf_counter() - t0
    print(json.dumps({"ready": len(socks), "open_seconds": opened}), flush=True)
    select.select([sys.stdin], [], [], 120.0)
    # Check the connections are still open (the server has not timed them out).
    alive = 0
    for sock in socks:
        sock.setblocking(False)
        try:
            data = sock.recv(1)
        except BlockingIOError:  # nothing to read: still open
            alive += 1
            continue
        except OSError:
            continue
        if data:  # unexpected bytes, but the connection is open
            alive += 1
    for sock in socks:
        sock.close()
    return {"done": True, "alive_at_end": alive}


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    mode, port = argv[1], int(argv[2])
    try:
        if mode == "download":
            result = download(port, int(argv[3]))
        elif mode == "upload":
            verify = "--no-verify" not in argv
            result = upload(port, int(argv[3]), argv[4], verify)
        elif mode == "conns":
            result = conns(port, int(argv[3]))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (OSError, ProtocolError, ValueError) as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
