"""The HTTP/2 wire cases: frames a client sends after the preface and its SETTINGS → what a correct server
does (RFC 9113), as a table beside the HTTP/1 one (`nt_cases`).

Each case is one connection's frames. `H2Expect` says how it ends: a GOAWAY with an error code and the close,
or each stream's answer (a status, or the code of the RST_STREAM that ended it) on a connection that stays
open. Header blocks are encoded with a fresh HPACK encoder per case (the case is all the connection ever
sends), at the table size a client may use before it has acknowledged the server's SETTINGS.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import hpack
from nt_h2frames import (
    CONTINUATION,
    ENABLE_PUSH,
    FLOW_CONTROL_ERROR,
    FRAME_SIZE_ERROR,
    INITIAL_WINDOW_SIZE,
    MAX_FRAME_SIZE,
    PADDED,
    PRIORITY,
    PROTOCOL_ERROR,
    PUSH_PROMISE,
    data,
    frame,
    headers,
    ping,
    request_headers,
    rst_stream,
    settings,
    window_update,
)


@dataclass(frozen=True)
class H2Expect:
    """How a case ends: ``goaway`` (an error code: GOAWAY then the close), else each stream's answer
    (``statuses``: stream → status; ``resets``: stream → RST_STREAM code) with the connection left open;
    ``calls``: the paths whose handlers ran (None: a valid request before the error may or may not have
    run, as the reads fall)."""

    goaway: int | None = None
    statuses: dict[int, int] = field(default_factory=dict)
    resets: dict[int, int] = field(default_factory=dict)
    calls: tuple[str, ...] | None = ()


def _block(header_list: list[tuple[str, str]]) -> bytes:
    return hpack.Encoder().encode(header_list)


def _raw_block(*fields: tuple[bytes, bytes]) -> bytes:
    """Literal fields without indexing, as written (hpack's encoder would refuse nothing, but keep names as
    they are): each a 0x00 byte, the name's length and name, the value's length and value."""
    out = b""
    for name, value in fields:
        assert len(name) < 127 and len(value) < 127
        out += b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value
    return out


def get(path: str = "/", sid: int = 1, extra: list[tuple[str, str]] | None = None, end: bool = True) -> bytes:
    """A request's HEADERS on stream *sid*."""
    return headers(sid, _block(request_headers(path, extra=extra or [])), end_stream=end)


def post(path: str, body: bytes, sid: int = 1, extra: list[tuple[str, str]] | None = None) -> bytes:
    """A POST with *body* in one DATA frame."""
    block = _block(request_headers(path, "POST", extra=extra or []))
    return headers(sid, block, end_stream=False) + data(sid, body, end_stream=True)


def _pseudo(*fields: tuple[bytes, bytes]) -> bytes:
    return headers(1, _raw_block(*fields))


#: The stream window the table's server advertises (``HTTP2_INITIAL_WINDOW_SIZE``): small, so that one
#: DATA frame can pass it whatever the reads (the server gives a window back as it takes the body).
WINDOW = 1024
CL5 = ("content-length", "5")
GET_FIELDS = ((b":method", b"GET"), (b":scheme", b"http"), (b":authority", b"a"), (b":path", b"/"))
OK = H2Expect(statuses={1: 200}, calls=("/",))
C_PROTOCOL, C_FRAME_SIZE, C_FLOW = (H2Expect(goaway=c) for c in (PROTOCOL_ERROR, FRAME_SIZE_ERROR,
                                                                 FLOW_CONTROL_ERROR))
MALFORMED = H2Expect(statuses={1: 400})  # refused on its stream, no handler run; the connection stays


def _cases() -> dict[str, tuple[bytes, H2Expect]]:
    block = _block(request_headers("/"))
    return {
        # Well-formed: served, the connection stays.
        "get": (get(), OK),
        "post-echo": (post("/", b"hello"), H2Expect(statuses={1: 200}, calls=("/",))),
        "two-streams": (get("/", 1) + get("/2", 3), H2Expect(statuses={1: 200, 3: 200}, calls=("/", "/2"))),
        "headers-in-continuations": (headers(1, block[:3], end_headers=False)
                                     + frame(CONTINUATION, 0, 1, block[3:6])
                                     + frame(CONTINUATION, 4, 1, block[6:]), OK),
        "padded-headers": (frame(1, PADDED | 0x5, 1, b"\x04" + block + b"\0" * 4), OK),
        "priority-then-get": (frame(PRIORITY, 0, 1, struct.pack(">IB", 0, 16)) + get(), OK),
        "unknown-frame-type-ignored": (frame(0xEE, 0, 0, b"ignore me") + get(), OK),
        "ping-then-get": (ping() + get(), OK),
        "missing-path-404-not": (get("/missing"), H2Expect(statuses={1: 404})),
        "connect-refused": (headers(1, _block([(":method", "CONNECT"), (":authority", "a:443")])),
                            H2Expect(statuses={1: 400})),
        # Frames: sizes, streams, flags (connection errors).
        "data-over-max-frame-size": (get(end=False) + data(1, b"x" * 16385), C_FRAME_SIZE),
        "headers-on-stream-0": (headers(0, block), C_PROTOCOL),
        "headers-on-even-stream": (headers(2, block), C_PROTOCOL),
        "stream-id-going-down": (get("/", 5) + get("/", 3), H2Expect(goaway=PROTOCOL_ERROR, calls=None)),
        "data-on-stream-0": (data(0, b"x"), C_PROTOCOL),
        "data-on-idle-stream": (data(1, b"x"), C_PROTOCOL),
        "continuation-without-headers": (frame(CONTINUATION, 4, 1, block), C_PROTOCOL),
        "headers-interrupted-by-ping": (headers(1, block[:3], end_headers=False) + ping(), C_PROTOCOL),
        "padding-longer-than-frame": (frame(1, PADDED | 0x5, 1, b"\xff" + block), C_PROTOCOL),
        "settings-length-not-6n": (frame(4, 0, 0, b"\0\0\0\0\0"), C_FRAME_SIZE),
        "settings-on-a-stream": (frame(4, 0, 1, b""), C_PROTOCOL),
        # (RFC 9113 §6.5 says FRAME_SIZE_ERROR; python-hyper's h2 answers PROTOCOL_ERROR)
        "settings-ack-with-payload": (frame(4, 1, 0, b"\0" * 6), C_PROTOCOL),
        "settings-enable-push-2": (settings({ENABLE_PUSH: 2}), C_PROTOCOL),
        "settings-window-too-large": (settings({INITIAL_WINDOW_SIZE: 1 << 31}), C_FLOW),
        "settings-frame-size-too-small": (settings({MAX_FRAME_SIZE: 100}), C_PROTOCOL),
        "ping-of-7-bytes": (frame(6, 0, 0, b"1234567"), C_FRAME_SIZE),
        "ping-on-a-stream": (frame(6, 0, 1, b"12345678"), C_PROTOCOL),
        "window-update-of-3-bytes": (frame(8, 0, 0, b"\0\0\1"), C_FRAME_SIZE),
        "window-update-0-on-connection": (window_update(0, 0), C_PROTOCOL),
        "window-update-overflows-connection": (window_update(0, (1 << 31) - 1), C_FLOW),
        "rst-on-idle-stream": (rst_stream(1), C_PROTOCOL),
        "rst-of-3-bytes": (get(end=False) + frame(3, 0, 1, b"\0\0\0"), C_FRAME_SIZE),
        "push-promise-from-client": (frame(PUSH_PROMISE, 4, 1, b"\0\0\0\2" + block), C_PROTOCOL),
        "goaway-on-a-stream": (frame(7, 0, 1, b"\0" * 8), C_PROTOCOL),
        "data-beyond-the-stream-window": (get(end=False) + data(1, b"x" * (WINDOW + 1)), C_FLOW),
        # (RFC 9113 §4.3 says COMPRESSION_ERROR; h2 answers every decoding error with PROTOCOL_ERROR)
        "hpack-index-out-of-range": (headers(1, b"\xff\x7f"), C_PROTOCOL),
        # Malformed requests (RFC 9113 §8.1.1: a stream error): a 400 on their stream (h2_headers).
        "uppercase-header-name": (_pseudo(*GET_FIELDS, (b"X-Up", b"1")), MALFORMED),
        "connection-header": (_pseudo(*GET_FIELDS, (b"connection", b"keep-alive")), MALFORMED),
        "te-not-trailers": (_pseudo(*GET_FIELDS, (b"te", b"gzip")), MALFORMED),
        "missing-path": (_pseudo(*GET_FIELDS[:3]), MALFORMED),
        "duplicate-path": (_pseudo(*GET_FIELDS, (b":path", b"/2")), MALFORMED),
        "pseudo-after-regular": (_pseudo(*GET_FIELDS[:3], (b"x", b"1"), GET_FIELDS[3]), MALFORMED),
        "response-pseudo-in-request": (_pseudo(*GET_FIELDS, (b":status", b"200")), MALFORMED),
        "content-length-longer-than-body": (post("/", b"abc", extra=[CL5]), C_PROTOCOL),
        "content-length-shorter-than-body": (post("/", b"abcdef", extra=[CL5]), C_PROTOCOL),
        "nul-in-value": (_pseudo(*GET_FIELDS, (b"x", b"a\x00b")), MALFORMED),
        "crlf-in-value": (_pseudo(*GET_FIELDS, (b"x", b"a\r\nb: c")), MALFORMED),
    }


H2_CASES: dict[str, tuple[bytes, H2Expect]] = _cases()
