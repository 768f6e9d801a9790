"""RFC 6455 as an attacker reads it, against necktie-server over raw loopback sockets.

Each case sends frames a well-behaved client never would and checks the close code the server answers
with (1002 protocol error, 1007 invalid data, 1009 too big), or that what is allowed is still accepted.
"""

from __future__ import annotations

import zlib

import pytest
from necktie_testing import LiveServer
from test_websocket_limits import exchange, fragmented, sizes_app
from ws_wire import BINARY, CLOSE, CONT, PING, PONG, TEXT, close_code, close_payload, deflated, frame


@pytest.fixture(scope="module")
def port():
    with LiveServer(sizes_app(WEBSOCKET_MAX_SIZE=4096, WEBSOCKET_PING_INTERVAL=0)) as server:
        yield server.port


REFUSED = {
    "ping over 125 bytes": (frame(PING, b"p" * 126), 1002),
    "close over 125 bytes": (frame(CLOSE, close_payload(1000, b"r" * 124)), 1002),
    "fragmented ping": (frame(PING, b"p", fin=False), 1002),
    "fragmented close": (frame(CLOSE, close_payload(1000), fin=False), 1002),
    "reserved opcode 0x3": (frame(0x3, b"x"), 1002),
    "reserved control opcode 0xB": (frame(0xB, b"x"), 1002),
    "RSV1 without permessage-deflate": (frame(TEXT, b"x", rsv=0x40), 1002),
    "RSV3": (frame(BINARY, b"x", rsv=0x10), 1002),
    "unmasked frame": (frame(TEXT, b"x", masked=False), 1002),
    "continuation with no message open": (frame(CONT, b"x"), 1002),
    "a new message inside a fragmented one": (frame(TEXT, b"a", fin=False) + frame(TEXT, b"b"), 1002),
    "a close inside a fragmented message": (
        frame(TEXT, b"a", fin=False) + frame(CLOSE, close_payload(1000)), 1002),
    "close code 999": (frame(CLOSE, close_payload(999)), 1002),
    "close code 1004 (reserved)": (frame(CLOSE, close_payload(1004)), 1002),
    "close code 1005 (never on the wire)": (frame(CLOSE, close_payload(1005)), 1002),
    "close code 1006 (never on the wire)": (frame(CLOSE, close_payload(1006)), 1002),
    "close code 1015 (never on the wire)": (frame(CLOSE, close_payload(1015)), 1002),
    "close code 5000": (frame(CLOSE, close_payload(5000)), 1002),
    "close payload of one byte": (frame(CLOSE, b"\x03"), 1002),
    "close reason not UTF-8": (frame(CLOSE, close_payload(1000, b"\xff")), 1007),
    "text not UTF-8": (frame(TEXT, b"ok \xc3\x28"), 1007),
    "text cut inside a character": (frame(TEXT, b"\xe2\x82"), 1007),
    "a surrogate encoded in UTF-8": (frame(TEXT, b"\xed\xa0\x80"), 1007),
    "invalid UTF-8 across two fragments": (fragmented(TEXT, [b"\xc3", b"\x28"]), 1007),
    "frame header over the size limit": (frame(BINARY, b"x" * 4097), 1009),
    "64-bit length with its top bit set": (bytes([0x82, 0xFF]) + b"\xff" * 8 + b"mask", 1009),
}


@pytest.mark.parametrize("name", REFUSED)
def test_invalid_input_is_refused_with_its_close_code(port, name):
    data, code = REFUSED[name]
    frames = exchange(port, data)
    assert close_code(frames) == code, frames
    assert not [f for f in frames if f[0] == TEXT]  # nothing reached the handler


def test_invalid_utf8_in_a_first_fragment_is_refused_before_the_message_ends(port):
    # The message is never finished: the server must not wait for (and buffer) the rest of it.
    frames = exchange(port, frame(TEXT, b"fine so far \xff", fin=False))
    assert close_code(frames) == 1007


ACCEPTED = {
    "a character split across fragments": (fragmented(TEXT, [b"\xc3", b"\xa9t\xc3", b"\xa9"]), "str 3"),
    "a 4-byte character split in three": (fragmented(TEXT, [b"\xf0\x9f", b"\x98", b"\x80"]), "str 1"),
    "empty fragments": (fragmented(BINARY, [b"", b"", b"ab", b""]), "bytes 2"),
    "control frames between fragments": (
        frame(TEXT, b"a", fin=False) + frame(PING, b"hi") + frame(PONG, b"x") + frame(CONT, b"b"),
        "str 2",
    ),
    "a 125-byte ping": (frame(PING, b"p" * 125) + frame(TEXT, b"after"), "str 5"),
    "exactly the size limit in fragments": (fragmented(BINARY, [b"x" * 1024] * 4), "bytes 4096"),
}


@pytest.mark.parametrize("name", ACCEPTED)
def test_valid_but_unusual_input_is_accepted(port, name):
    data, answer = ACCEPTED[name]
    frames = exchange(port, data)
    assert (TEXT, answer.encode()) in frames, frames
    assert close_code(frames) == 1000


@pytest.mark.parametrize("code", [1000, 1001, 1003, 1007, 1011, 3000, 4999])
def test_a_valid_close_code_is_echoed(port, code):
    frames = exchange(port, frame(CLOSE, close_payload(code, b"bye")))
    assert frames[-1][0] == CLOSE and close_code(frames) == code


DEFLATE = b"Sec-WebSocket-Extensions: permessage-deflate\r\n"


def inflated(data: bytes) -> bytes:
    return zlib.decompressobj(wbits=-15).decompress(data + b"\x00\x00\xff\xff")


def test_permessage_deflate_is_in_use(port):
    frames = exchange(port, frame(TEXT, deflated(b"squeeze " * 100), rsv=0x40), extra=DEFLATE)
    assert frames[0][0] == TEXT and inflated(frames[0][1]) == b"str 800"


def two_compressed_fragments(first: bytes, second: bytes) -> bytes:
    """One message compressed as one stream and cut in two frames (only the last one loses the tail)."""
    compressor = zlib.compressobj(wbits=-15)
    head = compressor.compress(first) + compressor.flush(zlib.Z_SYNC_FLUSH)
    tail = (compressor.compress(second) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
    return frame(BINARY, head, rsv=0x40, fin=False) + frame(CONT, tail)


def test_a_compressed_message_in_fragments_is_accepted(port):
    frames = exchange(port, two_compressed_fragments(bytes(2000), bytes(2000)), extra=DEFLATE)
    assert frames[0][0] == TEXT and inflated(frames[0][1]) == b"bytes 4000"


COMPRESSED_REFUSED = {
    # 64 MiB of zeros in 64 KiB: inflated only up to the limit, then refused.
    "a decompression bomb": (frame(BINARY, deflated(bytes(64 << 20)), rsv=0x40), 1009),
    "a bomb spread over fragments": (two_compressed_fragments(bytes(3000), bytes(3000)), 1009),
    "RSV1 on a continuation frame": (
        frame(TEXT, deflated(b"a"), rsv=0x40, fin=False) + frame(CONT, b"b", rsv=0x40), 1002),
    "RSV1 on a ping": (frame(PING, b"p", rsv=0x40), 1002),
    "data that does not inflate": (frame(TEXT, b"\xff\xff\xff\xff", rsv=0x40), 1002),
}


@pytest.mark.parametrize("name", COMPRESSED_REFUSED)
def test_invalid_compressed_input_is_refused(port, name):
    data, code = COMPRESSED_REFUSED[name]
    frames = exchange(port, data, extra=DEFLATE)
    assert close_code(frames) == code, frames
    assert not [f for f in frames if f[0] == TEXT]
