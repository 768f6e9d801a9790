"""Raw-socket HTTP/1.1 for the server's tests: send exact bytes (whole or split), parse answers with h11.

h11 is strict, so a malformed answer from the server fails the test that reads it.
"""

from __future__ import annotations

import random
import socket
import time
from dataclasses import dataclass, field

import h11


@dataclass
class Answer:
    """One response as a strict client saw it."""

    status: int
    headers: dict[str, str]
    body: bytes
    informational: list[int] = field(default_factory=list)
    complete: bool = True

    @property
    def closes(self) -> bool:
        """The response announces that the connection closes after it."""
        return "close" in self.headers.get("connection", "").lower()


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    """A TCP connection to 127.0.0.1:*port* with Nagle off, so split sends leave as separate segments."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def pieces(raw: bytes, mode: str | int) -> list[bytes]:
    """*raw* cut as *mode* says: ``"whole"``, ``"bytes"`` (one byte each), or an int seed for random cuts."""
    if mode == "whole" or len(raw) < 2:
        return [raw]
    if mode == "bytes":
        return [raw[i:i + 1] for i in range(len(raw))]
    rng = random.Random(mode)
    cuts = sorted(rng.sample(range(1, len(raw)), min(len(raw) - 1, rng.randint(1, 8))))
    return [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]


def send(sock: socket.socket, raw: bytes, mode: str | int = "whole") -> bool:
    """Send *raw* in the pieces *mode* gives; False if the server closed before it was all sent."""
    parts = pieces(raw, mode)
    for i, part in enumerate(parts):
        try:
            sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            return False
        if len(parts) > 1 and i % 64 == 63:
            time.sleep(0.001)
    return True


def parse_one(data: bytes, method: str, eof: bool) -> tuple[Answer, bytes] | None:
    """The first complete response in *data* and the bytes after it, or None if more data is needed.

    Raises `h11.RemoteProtocolError` when the bytes are not a valid HTTP/1.1 response.
    """
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method=method, target="/", headers=[("Host", "a")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(data)
    if eof:
        conn.receive_data(b"")
    informational: list[int] = []
    answer: Answer | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            return None
        if isinstance(event, h11.InformationalResponse):
            informational.append(event.status_code)
        elif isinstance(event, h11.Response):
            headers = {k.decode().lower(): v.decode("latin-1") for k, v in event.headers}
            answer = Answer(event.status_code, headers, b"", informational)
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            assert answer is not None
            answer.body = bytes(body)
            return answer, conn.trailing_data[0]
        elif isinstance(event, h11.ConnectionClosed):
            if answer is None:
                return None
            answer.body = bytes(body)
            answer.complete = False
            return answer, b""


def parse_all(data: bytes, methods: list[str] | None = None, eof: bool = True) -> tuple[list[Answer], bytes]:
    """Every complete response in *data* (the i-th answers a request of ``methods[i]``, GET by default)."""
    answers: list[Answer] = []
    while data:
        method = methods[len(answers)] if methods and len(answers) < len(methods) else "GET"
        try:
            parsed = parse_one(data, method, eof)
        except h11.RemoteProtocolError:
            if answers and not answers[-1].complete:
                break
            raise
        if parsed is None:
            break
        answer, data = parsed
        answers.append(answer)
        if not answer.complete:
            break
    return answers, data


def read_until_closed(sock: socket.socket, timeout: float = 10.0, limit: int = 1 << 24) -> tuple[bytes, bool]:
    """Everything the server sends until it closes (True) or *timeout* passes with the socket open (False)."""
    data = bytearray()
    end = time.monotonic() + timeout
    while len(data) < limit:
        left = end - time.monotonic()
        if left <= 0:
            return bytes(data), False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return bytes(data), False
        except ConnectionResetError:
            return bytes(data), True
        if not chunk:
            return bytes(data), True
        data += chunk
    return bytes(data), False


def read_answers(sock: socket.socket, count: int, methods: list[str] | None = None,
                 timeout: float = 10.0) -> tuple[list[Answer], bytes, bool]:
    """Read until *count* responses are complete or the server closes; returns them, the rest, and EOF."""
    data = bytearray()
    end = time.monotonic() + timeout
    while True:
        answers, rest = parse_all(bytes(data), methods, eof=False)
        if len(answers) >= count:
            return answers, rest, False
        left = end - time.monotonic()
        if left <= 0:
            return answers, rest, False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            answers, rest = parse_all(bytes(data), methods, eof=True)
            return answers, rest, True
        data += chunk


def exchange(port: int, raw: bytes, mode: str | int = "whole", methods: list[str] | None = None,
             timeout: float = 10.0) -> tuple[list[Answer], bytes, bool]:
    """Send *raw*, then half-close and read to the end: every response, the leftover bytes, and whether EOF
    came."""
    with connect(port, timeout) as sock:
        send(sock, raw, mode)
        data, closed = read_until_closed(sock, timeout)
    answers, rest = parse_all(data, methods)
    return answers, rest, closed
