"""Raw HTTP/2 for the server's tests: frames built by hand (so a test can break the protocol on purpose) and
the server's frames read back from a real socket (`nt_h2` is the well-behaved client, on python-hyper's
engine).

`RawH2` is one connection: ``send`` takes bytes built with the frame functions below, ``read_until`` and
``read_until_closed`` collect the server's frames, decoding its header blocks with one HPACK decoder (the
connection's, so the dynamic table stays in step). Nothing here checks the server on the client's behalf
beyond decoding: each test asserts what it expects. `FrameReader` alone reads frames from any bytes (the fuzz
target's check of what the server wrote).
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types (RFC 9113 §6).
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE = range(6)
PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(6, 10)
# Flags.
END_STREAM = ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
# Error codes (§7).
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0, 1, 2, 3
FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL, COMPRESSION_ERROR, ENHANCE_YOUR_CALM = 6, 7, 8, 9, 11
# Settings (§6.5.2).
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS = 1, 2, 3
INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE = 4, 5, 6


# -- frames, built by hand -------------------------------------------------------------------------------
def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """One frame: the 9-byte header (length, type, flags, stream id) and *payload*, whatever they say."""
    return struct.pack(">I", len(payload))[1:] + bytes((kind, flags)) + struct.pack(">I", stream_id) + payload


def settings(values: dict[int, int] | None = None) -> bytes:
    """A SETTINGS frame carrying *values* (setting id → value)."""
    payload = b"".join(struct.pack(">HI", k, v) for k, v in (values or {}).items())
    return frame(SETTINGS, 0, 0, payload)


def settings_ack() -> bytes:
    """The acknowledgement of the server's SETTINGS."""
    return frame(SETTINGS, ACK, 0)


def ping(opaque: bytes = b"12345678", ack: bool = False) -> bytes:
    """A PING (8 bytes of opaque data)."""
    return frame(PING, ACK if ack else 0, 0, opaque)


def window_update(stream_id: int, increment: int) -> bytes:
    """A WINDOW_UPDATE for a stream (0: the connection)."""
    return frame(WINDOW_UPDATE, 0, stream_id, struct.pack(">I", increment))


def rst_stream(stream_id: int, code: int = CANCEL) -> bytes:
    """A RST_STREAM."""
    return frame(RST_STREAM, 0, stream_id, struct.pack(">I", code))


def data(stream_id: int, payload: bytes, end_stream: bool = False) -> bytes:
    """A DATA frame."""
    return frame(DATA, END_STREAM if end_stream else 0, stream_id, payload)


def headers(stream_id: int, block: bytes, end_stream: bool = True, end_headers: bool = True) -> bytes:
    """A HEADERS frame carrying an already encoded header *block* (or the first part of one)."""
    flags = (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0)
    return frame(HEADERS, flags, stream_id, block)


def continuation(stream_id: int, block: bytes, end_headers: bool = False) -> bytes:
    """A CONTINUATION frame."""
    return frame(CONTINUATION, END_HEADERS if end_headers else 0, stream_id, block)


def goaway(last_stream_id: int = 0, code: int = NO_ERROR) -> bytes:
    """A GOAWAY."""
    return frame(GOAWAY, 0, 0, struct.pack(">II", last_stream_id, code))


def request_headers(path: str = "/", method: str = "GET", authority: str = "a",
                    extra: Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """The header list of a request: the pseudo-headers first, then *extra*."""
    return [(":method", method), (":scheme", "http"), (":authority", authority), (":path", path), *extra]


# -- the server's frames ----------------------------------------------------------------------------------
@dataclass
class Frame:
    """One frame the server sent; a header block (HEADERS and its CONTINUATIONs) arrives as one HEADERS
    frame with ``headers`` decoded."""

    kind: int
    flags: int
    stream_id: int
    payload: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def error_code(self) -> int:
        """The error code of a RST_STREAM or GOAWAY."""
        return int.from_bytes(self.payload[4:8] if self.kind == GOAWAY else self.payload[:4], "big")

    @property
    def settings(self) -> dict[int, int]:
        """The values of a SETTINGS frame."""
        return dict(struct.unpack(">HI", self.payload[i:i + 6]) for i in range(0, len(self.payload), 6))

    @property
    def status(self) -> int | None:
        """``:status`` of a HEADERS frame."""
        found = [v for k, v in self.headers if k == ":status"]
        return int(found[0]) if found else None


class FrameReader:
    """The server's bytes as frames: fed in any pieces, header blocks joined and decoded by one HPACK decoder
    (the connection's, so the dynamic table stays in step). Raises `hpack.HPACKError` on a block it cannot
    decode."""

    def __init__(self, decode: bool = True) -> None:
        self.decode = decode  # False: a block's frames are joined, as they are, not decoded (no ``headers``)
        self.buffer = bytearray()
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = 1 << 30  # a test decides what is too much
        self._block: list[Frame] = []

    def feed(self, chunk: bytes) -> list[Frame]:
        """The frames *chunk* completes (a header block once its last frame is in)."""
        self.buffer += chunk
        found: list[Frame] = []
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[:3], "big")
            if len(self.buffer) < 9 + length:
                break
            kind, flags = self.buffer[3], self.buffer[4]
            stream_id = int.from_bytes(self.buffer[5:9], "big") & 0x7FFFFFFF
            got = Frame(kind, flags, stream_id, bytes(self.buffer[9:9 + length]))
            del self.buffer[:9 + length]
            if kind in (HEADERS, CONTINUATION) or self._block:
                block = self._header_block(got)
                if block is not None:
                    found.append(block)
            else:
                found.append(got)
        return found

    def _header_block(self, got: Frame) -> Frame | None:
        self._block.append(got)
        if not got.flags & END_HEADERS:
            return None
        first, rest, self._block = self._block[0], self._block[1:], []
        if not self.decode:
            first.payload += b"".join(f.payload for f in rest)
            return first
        payload = first.payload
        if first.flags & PADDED:
            payload = payload[1:len(payload) - payload[0]]
        if first.flags & 0x20:  # PRIORITY
            payload = payload[5:]
        block = payload + b"".join(f.payload for f in rest)
        first.headers = [(k.decode(), v.decode("latin-1")) for k, v in self.decoder.decode(block, raw=True)]
        return first


class RawH2:
    """One HTTP/2 connection on a real socket, written frame by frame."""

    def __init__(self, port: int, *, values: dict[int, int] | None = None, preface: bool = True,
                 tls: ssl.SSLContext | None = None, timeout: float = 10.0) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock: socket.socket = tls.wrap_socket(sock, server_hostname="localhost") if tls else sock
        self.encoder = hpack.Encoder()
        self.reader = FrameReader()
        self.frames: list[Frame] = []  # every frame read so far
        self._seen = 0  # how many of them `read_until` has looked at
        self.closed = False
        if preface:
            self.send(PREFACE + settings(values))

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def __enter__(self) -> RawH2:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def handshake(self, timeout: float = 10.0) -> Frame:
        """Read the server's SETTINGS, follow its header table size as a client's encoder must, and
        acknowledge them; the SETTINGS frame (AssertionError if none came)."""
        got = self.read_until(lambda f: f.kind == SETTINGS and not f.flags & ACK, timeout)
        assert got is not None, "no SETTINGS from the server"
        table = got.settings.get(HEADER_TABLE_SIZE)
        if table is not None and table < self.encoder.header_table_size:
            self.encoder.header_table_size = table  # the next block starts with the size update
        self.send(settings_ack())
        return got

    def encode(self, header_list: list[tuple[str, str]]) -> bytes:
        """*header_list* encoded with this connection's HPACK encoder."""
        return self.encoder.encode(header_list)

    def send(self, raw: bytes) -> bool:
        """Send *raw*; False if the server has closed (a reset or a broken pipe)."""
        try:
            self.sock.sendall(raw)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            return False
        return True

    def request(self, stream_id: int, path: str = "/", method: str = "GET", end_stream: bool = True,
                extra: Iterable[tuple[str, str]] = ()) -> bool:
        """Open stream *stream_id* with a request (its END_STREAM as said)."""
        block = self.encode(request_headers(path, method, extra=extra))
        return self.send(headers(stream_id, block, end_stream=end_stream))

    # -- reading ----------------------------------------------------------------------------------------
    def _recv(self, deadline: float) -> list[Frame] | None:
        """The frames one read completes; None on timeout or once the server has closed."""
        left = deadline - time.monotonic()
        if left <= 0 or self.closed:
            return None
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(1 << 16)
        except (TimeoutError, ssl.SSLWantReadError):
            return None
        except (ConnectionResetError, ssl.SSLError):
            chunk = b""
        if not chunk:
            self.closed = True
            return None
        found = self.reader.feed(chunk)
        self.frames += found
        return found

    def read_until(self, predicate: Callable[[Frame], bool], timeout: float = 10.0) -> Frame | None:
        """The next frame not yet looked at that satisfies *predicate*, reading as needed; None if the server
        closes or *timeout* passes first. Frames passed over stay in ``frames``."""
        deadline = time.monotonic() + timeout
        while True:
            while self._seen < len(self.frames):
                got = self.frames[self._seen]
                self._seen += 1
                if predicate(got):
                    return got
            if self._recv(deadline) is None:
                return None

    def read_until_closed(self, timeout: float = 10.0) -> bool:
        """Read (keeping every frame in ``frames``) until the server closes (True) or *timeout* passes."""
        deadline = time.monotonic() + timeout
        while self._recv(deadline) is not None:
            pass
        return self.closed

    def of_kind(self, kind: int, stream_id: int | None = None) -> list[Frame]:
        """The frames of *kind* read so far (on *stream_id* if given)."""
        return [f for f in self.frames if f.kind == kind and (stream_id is None or f.stream_id == stream_id)]

    def goaway(self) -> Frame | None:
        """The server's GOAWAY, if it sent one."""
        found = self.of_kind(GOAWAY)
        return found[-1] if found else None

    def response(self, stream_id: int, timeout: float = 10.0) -> tuple[int | None, bytes, Frame | None]:
        """Read stream *stream_id* to its end: its status, its body, and the RST_STREAM that ended it if any.

        Opens the windows as the body arrives (a test that wants a stall reads frames itself).
        """
        body = bytearray()
        status: int | None = None
        deadline = time.monotonic() + timeout
        while True:
            got = self.read_until(lambda f: f.stream_id == stream_id or f.kind == GOAWAY,
                                  max(0.0, deadline - time.monotonic()))
            if got is None:
                return status, bytes(body), None
            if got.kind == GOAWAY:
                continue
            if got.kind == RST_STREAM:
                return status, bytes(body), got
            if got.kind == HEADERS and status is None:
                status = got.status
            if got.kind == DATA:
                body += got.payload
                if got.payload:
                    self.send(window_update(0, len(got.payload)) + window_update(stream_id, len(got.payload)))
            if got.flags & END_STREAM:
                return status, bytes(body), None
