"""Constant load against `rolling_app` while servers drain and restart, counting every failure.

Each client is a thread with one blocking socket, parsed with h11, that repeats one kind of exchange
until told to stop: keep-alive GETs, streamed (chunked) uploads, streamed downloads, server-sent event
streams. A connection is reused while the server keeps it alive and opened again when the server said
``Connection: close``. Anything else is a failure, recorded with what happened: a reset, a connection
closed before or during an answer, a status other than 200, a body that is short or wrong.

Shared by the drain tests (`test_drain_and_rolling_restart`) and ``benchmarks/rolling_restart.py``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import h11

UPLOAD_CHUNKS = 8
UPLOAD_CHUNK = 4096
DOWNLOAD_PIECES = 20
DOWNLOAD_PIECE = 4096
EVENTS = 20
KINDS = ("hello", "upload", "download", "events")


@dataclass
class Tally:
    """What the clients saw: exchanges that succeeded by kind, by answering process, and the failures."""

    ok: Counter[str] = field(default_factory=Counter)
    pids: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def served(self) -> int:
        """Exchanges that succeeded."""
        return sum(self.ok.values())


class _Connection:
    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=30)
        self.conn = h11.Connection(h11.CLIENT)

    def send(self, *events: h11.Event) -> None:
        for event in events:
            data = self.conn.send(event)
            if data:
                self.sock.sendall(data)

    def exchange(self, method: str, target: str, chunks: list[bytes] | None = None,
                 pause: float = 0.0) -> tuple[h11.Response, bytes]:
        headers = [("host", "rolling.test")]
        if chunks is not None:
            headers.append(("transfer-encoding", "chunked"))
        self.send(h11.Request(method=method, target=target, headers=headers))
        for chunk in chunks or ():
            self.send(h11.Data(data=chunk))
            time.sleep(pause)
        self.send(h11.EndOfMessage())
        response, body = None, bytearray()
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                data = self.sock.recv(65536)
                if not data and self.conn.their_state is h11.SEND_RESPONSE:
                    raise ConnectionError("closed before any answer")
                if not data and response is not None:
                    raise ConnectionError(f"closed mid-body after {len(body)} bytes")
                self.conn.receive_data(data)
            elif isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert response is not None
                return response, bytes(body)
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("closed before any answer")

    def reusable(self) -> bool:
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
            return True
        return False

    def close(self) -> None:
        self.sock.close()


def _check(kind: str, body: bytes) -> str | None:
    """What is wrong with a 200 answer's body, or None."""
    if kind == "hello":
        return None if body == b"hello" else f"body {body[:40]!r}"
    if kind == "upload":
        return None if body == str(UPLOAD_CHUNKS * UPLOAD_CHUNK).encode() else f"upload answer {body!r}"
    if kind == "download":
        expected = b"".join(bytes([65 + i % 26]) * DOWNLOAD_PIECE for i in range(DOWNLOAD_PIECES))
        return None if body == expected else f"download of {len(body)} bytes, not {len(expected)}"
    text = body.decode()
    ticks = [line for line in text.split("\n") if line.startswith("data: tick ")]
    ended = text.endswith("event: end\ndata: bye\n\n")
    complete = ticks == [f"data: tick {i}" for i in range(EVENTS)] and ended
    return None if complete else f"event stream cut: {len(ticks)} ticks, ends {text[-30:]!r}"


def _one(conn: _Connection, kind: str) -> tuple[h11.Response, bytes]:
    if kind == "hello":
        return conn.exchange("GET", "/hello")
    if kind == "upload":
        chunks = [b"u" * UPLOAD_CHUNK] * UPLOAD_CHUNKS
        return conn.exchange("POST", "/upload", chunks, pause=0.005)
    if kind == "download":
        return conn.exchange("GET", f"/download/{DOWNLOAD_PIECE}/{DOWNLOAD_PIECES}")
    return conn.exchange("GET", f"/events/{EVENTS}")


class Load:
    """*clients* threads of each kind against *host*:*port* from ``start()`` until ``stop()``."""

    def __init__(self, host: str, port: int, clients: int = 2) -> None:
        self.host, self.port = host, port
        self.tally = Tally()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(kind,), daemon=True,
                                          name=f"load-{kind}-{n}")
                         for kind in KINDS for n in range(clients)]

    def start(self) -> Load:
        """Start the clients."""
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> Tally:
        """Let each client finish its exchange, then stop them; what they saw."""
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
            assert not thread.is_alive(), f"{thread.name} did not finish its exchange in 60 s"
        return self.tally

    def _run(self, kind: str) -> None:
        conn: _Connection | None = None
        while not self._stop.is_set():
            try:
                if conn is None:
                    conn = _Connection(self.host, self.port)
                response, body = _one(conn, kind)
                status = response.status_code
                problem = f"status {status}" if status != 200 else _check(kind, body)
            except (OSError, h11.ProtocolError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
                response = None
            tally = self.tally
            with tally.lock:
                if problem is None:
                    tally.ok[kind] += 1
                    pid = dict(response.headers).get(b"x-pid", b"?")  # type: ignore[union-attr]
                    tally.pids[pid.decode()] += 1
                else:
                    tally.failures.append(f"{kind}: {problem}")
            if problem is not None or not conn.reusable():  # type: ignore[union-attr]
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()
