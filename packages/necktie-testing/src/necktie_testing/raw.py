"""A wire-level connection for what httpx hides: exact bytes out, raw chunks in with their arrival times."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import h11


@dataclass(frozen=True, slots=True)
class Arrival:
    """Bytes as one ``recv`` returned them, and when (seconds since the connection opened)."""

    data: bytes
    at: float


@dataclass(slots=True)
class RawResponse:
    """A response parsed with h11 from what a `RawConnection` received."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    http_version: bytes
    informational: list[int] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """The first value of header *name* (case-insensitive), or None."""
        key = name.lower().encode("latin-1")
        for k, v in self.headers:
            if k == key:
                return v.decode("latin-1")
        return None


class RawConnection:
    """A blocking TCP connection to a server; every read has a timeout (``TimeoutError`` when it passes).

    ``arrivals`` keeps every piece received, with its time, in order; ``received`` is them joined.
    """

    def __init__(self, host: str, port: int, *, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.opened_at = time.monotonic()
        self.arrivals: list[Arrival] = []
        self.eof = False
        self._parsed = 0  # how much of `received` read_response has consumed

    @property
    def first_byte_at(self) -> float | None:
        """When the first byte arrived (seconds since the connection opened), or None so far."""
        return self.arrivals[0].at if self.arrivals else None

    @property
    def received(self) -> bytes:
        """Everything received so far."""
        return b"".join(a.data for a in self.arrivals)

    # -- sending --------------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Send exactly *data*."""
        self.sock.sendall(data)

    def send_pieces(self, pieces: Iterable[bytes], pause: float = 0.0) -> None:
        """Send each piece with its own ``send`` (optionally pausing between them)."""
        for i, piece in enumerate(pieces):
            if i and pause:
                time.sleep(pause)
            self.sock.sendall(piece)

    # -- receiving ------------------------------------------------------------------------------------
    def recv(self, timeout: float | None = None) -> Arrival | None:
        """Wait for the next piece (None when the server has closed)."""
        if self.eof:
            return None
        wait = self.timeout if timeout is None else timeout
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(1 << 16)
        except TimeoutError:
            raise TimeoutError(f"nothing arrived within {wait}s") from None
        if not data:
            self.eof = True
            return None
        arrival = Arrival(data, time.monotonic() - self.opened_at)
        self.arrivals.append(arrival)
        return arrival

    def recv_until(self, marker: bytes, timeout: float | None = None) -> bytes:
        """Receive until what was received contains *marker* (``AssertionError`` if the server closes)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while marker not in self.received:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{marker!r} did not arrive (got {self.received!r})")
            if self.recv(left) is None:
                raise AssertionError(f"the server closed before {marker!r} arrived (got {self.received!r})")
        return self.received

    def recv_all(self, timeout: float | None = None) -> bytes:
        """Receive until the server closes the connection."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the server did not close the connection")
            self.recv(left)
        return self.received

    def read_response(self, method: str = "GET", timeout: float | None = None) -> RawResponse:
        """Parse the next response with h11 (for a request sent with *method*), receiving as needed."""
        conn = h11.Connection(h11.CLIENT)
        conn.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
        conn.send(h11.EndOfMessage())
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        fed = self._parsed
        informational: list[int] = []
        head: h11.Response | None = None
        body: list[bytes] = []
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = self.received[fed:]
                if not data:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError("the response did not complete in time")
                    if self.recv(left) is None:
                        conn.receive_data(b"")
                    continue
                fed += len(data)
                conn.receive_data(data)
                continue
            if isinstance(event, h11.InformationalResponse):
                informational.append(event.status_code)
            elif isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                body.append(bytes(event.data))
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                break
        assert head is not None
        trailing = getattr(conn, "trailing_data", (b"", False))[0]
        self._parsed = fed - len(trailing)
        return RawResponse(
            head.status_code, list(head.headers), b"".join(body), head.http_version, informational
        )

    # -- ending ---------------------------------------------------------------------------------------
    def shutdown_write(self) -> None:
        """Half-close: send a FIN, keep reading."""
        self.sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        """Close normally (FIN)."""
        self.sock.close()

    def reset(self) -> None:
        """Abort with an RST (``SO_LINGER`` 0, then close)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
