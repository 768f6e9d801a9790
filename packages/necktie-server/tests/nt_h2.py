"""A small blocking HTTP/2 client over a raw loopback socket (python-hyper's `h2` as the client's engine), for
tests that need to act frame by frame: reset one stream, hold one stream's window shut, count updates.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import DataReceived, Event, ResponseReceived, StreamEnded, StreamReset


class H2Client:
    """One client connection; every event received is kept in ``events``."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0,
                 tls: ssl.SSLContext | None = None) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        if tls is not None:  # HTTP/2 by ALPN
            tls.set_alpn_protocols(["h2"])
            sock = tls.wrap_socket(sock, server_hostname=host)
        self.sock = sock
        # No checks of its own on what it sends: the tests send malformed header lists on purpose.
        self.conn = H2Connection(H2Configuration(client_side=True, header_encoding=None,
                                                 validate_outbound_headers=False,
                                                 normalize_outbound_headers=False))
        self.conn.initiate_connection()
        self.events: list[Event] = []
        self.goaways: list[int] = []  # the error codes of the server's GOAWAY frames
        self._pending = b""
        self.closed = False
        self.authority = f"{host}:{port}".encode()
        self.flush()

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def __enter__(self) -> H2Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def flush(self) -> None:
        """Send what the engine queued."""
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, method: str, path: str, body: bytes | None = None, end: bool = True,
                headers: list[tuple[bytes, bytes]] | None = None) -> int:
        """Open a stream with a request head (and *body*, if any); its id."""
        stream_id = self.conn.get_next_available_stream_id()
        head = [(b":method", method.encode()), (b":path", path.encode()), (b":scheme", b"http"),
                (b":authority", self.authority), *(headers or [])]
        self.conn.send_headers(stream_id, head, end_stream=end and not body)
        if body:
            self.conn.send_data(stream_id, body, end_stream=end)
        self.flush()
        return stream_id

    def send(self, stream_id: int, data: bytes, end: bool = False) -> None:
        """Send *data* on a stream, at most what its window allows now (the rest is dropped)."""
        window = min(self.conn.local_flow_control_window(stream_id), len(data))
        frame = self.conn.max_outbound_frame_size
        for start in range(0, window, frame):
            self.conn.send_data(stream_id, data[start : min(window, start + frame)])
        if end:
            self.conn.end_stream(stream_id)
        self.flush()

    def reset(self, stream_id: int) -> None:
        """Reset a stream (RST_STREAM CANCEL)."""
        self.conn.reset_stream(stream_id, 8)
        self.flush()

    def pump(self, timeout: float = 0.5) -> bool:
        """Read once (at most *timeout*); False once the server closed."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return True
        except (ConnectionError, ssl.SSLError):
            data = b""
        if not data:
            self.closed = True
            return False
        for event in self.conn.receive_data(self._keep_goaway(data)):
            self.events.append(event)
            if isinstance(event, DataReceived) and event.flow_controlled_length:
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        self.flush()
        return True

    def _keep_goaway(self, data: bytes) -> bytes:
        """*data* without its GOAWAY frames, which are kept in ``goaways`` (h2's client would stop taking the
        frames of the streams still running after a graceful GOAWAY)."""
        self._pending += data
        out = bytearray()
        while len(self._pending) >= 9:
            length = int.from_bytes(self._pending[:3], "big")
            if len(self._pending) < 9 + length:
                break
            frame, self._pending = self._pending[: 9 + length], self._pending[9 + length :]
            if frame[3] == 7:
                self.goaways.append(int.from_bytes(frame[13:17], "big"))
            else:
                out += frame
        return bytes(out)

    def until(self, done: Callable[[], Any], timeout: float = 20.0) -> Any:
        """Read until ``done()`` is truthy (its value), or fail after *timeout* seconds."""
        deadline = time.monotonic() + timeout
        while not (result := done()):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; events: {self.events[-10:]}")
            if not self.pump() and not done():
                raise AssertionError(f"the server closed; events: {self.events[-10:]}")
        return result

    # -- what came back ------------------------------------------------------------------------------
    def status(self, stream_id: int) -> int | None:
        """The response status of a stream, once its head arrived."""
        for event in self.events:
            if isinstance(event, ResponseReceived) and event.stream_id == stream_id:
                return int(dict(event.headers)[b":status"])
        return None

    def header(self, stream_id: int, name: bytes) -> bytes | None:
        """A response header of a stream (its first value), once its head arrived."""
        for event in self.events:
            if isinstance(event, ResponseReceived) and event.stream_id == stream_id:
                return dict(event.headers).get(name)
        return None

    def body(self, stream_id: int) -> bytes:
        """The body bytes received on a stream so far."""
        return b"".join(
            e.data for e in self.events if isinstance(e, DataReceived) and e.stream_id == stream_id
        )

    def ended(self, stream_id: int) -> bool:
        """True once the server ended the stream."""
        return any(isinstance(e, StreamEnded) and e.stream_id == stream_id for e in self.events)

    def was_reset(self, stream_id: int) -> int | None:
        """The error code of the server's RST_STREAM on a stream, if it sent one."""
        for event in self.events:
            if isinstance(event, StreamReset) and event.stream_id == stream_id:
                return int(event.error_code)
        return None

    def goaway(self) -> int | None:
        """The error code of the server's (first) GOAWAY, if it sent one."""
        return self.goaways[0] if self.goaways else None
