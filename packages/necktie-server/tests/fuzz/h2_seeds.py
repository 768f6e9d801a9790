"""The HTTP/2 fuzz target's seed inputs: `fuzz_driver.CONTROL` bytes, then the frames a client sends after
the connection preface (the target sends the preface first); `fuzz_driver.CUT` marks where a read ends.

Each seed is one connection with its own HPACK encoder, so its header blocks decode in order; the frames
come from `nt_h2frames`, which builds them by hand (the fuzzer then breaks them as it likes).
"""

from __future__ import annotations

from collections.abc import Callable

import hpack
from fuzz_driver import CUT
from nt_h2frames import (
    HEADER_TABLE_SIZE,
    INITIAL_WINDOW_SIZE,
    MAX_FRAME_SIZE,
    continuation,
    data,
    frame,
    goaway,
    headers,
    ping,
    request_headers,
    rst_stream,
    settings,
    settings_ack,
    window_update,
)

WHOLE, SETTLED, EOF, STALLED, FLOOD = b"\x00\x01\x00\x00", b"\x05\x03\x01\x00", b"\x03\x83\x00\x00", \
    b"\x02\x19\x00\x00", b"\x00\x61\x01\x3f"  # FLOOD repeats the second read


def _seed(control: bytes, build: Callable[[hpack.Encoder], list[bytes]]) -> bytes:
    encoder = hpack.Encoder()
    encoder.header_table_size = 1024  # what the fuzz app advertises: the first block says so
    return control + CUT.join(build(encoder))


def _get(path: str, method: str = "GET", extra: tuple[tuple[str, str], ...] = ()) -> Callable[..., bytes]:
    def block(encoder: hpack.Encoder) -> bytes:
        return encoder.encode(request_headers(path, method, extra=extra))

    return block


def _request(e: hpack.Encoder, sid: int, path: str, method: str = "GET", end: bool = True,
             extra: tuple[tuple[str, str], ...] = ()) -> bytes:
    return headers(sid, _get(path, method, extra)(e), end_stream=end)


HELLO = settings() + settings_ack()
SEEDS = [
    _seed(c, lambda e: [HELLO + _request(e, 1, "/") + _request(e, 3, "/missing", "HEAD")])
    for c in (WHOLE, SETTLED, EOF, STALLED)
] + [
    # bodies both ways, answers before reading, raising handlers
    _seed(SETTLED, lambda e: [HELLO + _request(e, 1, "/echo", "POST", end=False), data(1, b"hello "),
                              data(1, b"world", end_stream=True)]),
    _seed(WHOLE, lambda e: [HELLO + _request(e, 1, "/collect", "POST", False, (("content-length", "5"),)),
                            data(1, b"hello", end_stream=True)]),
    _seed(WHOLE, lambda e: [HELLO + _request(e, 1, "/collect", "POST", False, (("expect", "100-continue"),)),
                            data(1, b"abc") + headers(1, e.encode([("x-trailer", "1")]))]),
    _seed(SETTLED, lambda e: [HELLO + _request(e, 1, "/ignore", "POST", end=False), data(1, b"x" * 5000),
                              data(1, b"y", end_stream=True)]),
    _seed(WHOLE, lambda e: [HELLO + _request(e, 1, "/raise") + _request(e, 3, "/raise-mid")
                            + _request(e, 5, "/raise-mid?cl=1")]),
    # flow control: a small window opened bit by bit, a zero window, a download with an abort
    _seed(SETTLED, lambda e: [settings({INITIAL_WINDOW_SIZE: 100}) + _request(e, 1, "/download"),
                              window_update(1, 1000) + window_update(0, 1000), window_update(1, 1 << 20)]),
    _seed(STALLED, lambda e: [settings({INITIAL_WINDOW_SIZE: 0}) + _request(e, 1, "/download")]),
    _seed(EOF, lambda e: [HELLO + _request(e, 1, "/download") + _request(e, 3, "/download", "HEAD"),
                          rst_stream(1)]),
    _seed(WHOLE, lambda e: [settings({MAX_FRAME_SIZE: 1 << 20, HEADER_TABLE_SIZE: 0}) + _request(e, 1, "/")]),
    # resets, header blocks in pieces, pings, priorities, a goaway, a window that overflows
    _seed(WHOLE, lambda e: [HELLO + b"".join(_request(e, i, "/echo", "POST", end=False) + rst_stream(i)
                                             for i in range(1, 40, 2))]),
    _seed(SETTLED, lambda e: [HELLO + headers(1, (b := _get("/")(e))[:5], end_headers=False),
                              continuation(1, b[5:10]), continuation(1, b[10:], end_headers=True)]),
    _seed(WHOLE, lambda e: [HELLO + ping() + frame(0x2, 0, 1, b"\x00\x00\x00\x03\x10") + _request(e, 1, "/")
                            + goaway(1)]),
    _seed(WHOLE, lambda e: [HELLO + _request(e, 1, "/download") + window_update(1, (1 << 31) - 1)]),
    _seed(WHOLE, lambda e: [HELLO + _request(e, 1, "/") + data(1, b"after the end")]),
    # floods: the third read repeated (fuzz_driver.Plan's amplify)
    _seed(FLOOD, lambda e: [HELLO, ping(), _request(e, 1, "/")]),
    _seed(FLOOD, lambda e: [HELLO + _request(e, 1, "/echo", "POST", end=False), data(1, b"x"),
                            data(1, b"", end_stream=True)]),
    _seed(FLOOD, lambda e: [HELLO + headers(1, _get("/")(e), end_headers=False), continuation(1, b""),
                            continuation(1, b"", end_headers=True)]),
]
