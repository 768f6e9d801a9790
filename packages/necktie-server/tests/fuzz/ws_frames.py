"""WebSocket frames as a client writes them (RFC 6455 §5.2), and the WebSocket fuzz target's seed inputs.

A seed is `fuzz_driver.CONTROL` bytes (the fourth picks the route and whether permessage-deflate is offered,
see `fuzz_ws.handshake`) followed by frames; `fuzz_driver.CUT` marks where a read must end.
"""

from __future__ import annotations

import struct
import zlib

from fuzz_driver import CUT

TEXT, BINARY, CONT, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10
MASK = b"\x37\xfa\x21\x3d"


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True, masked: bool = True, rsv: int = 0,
          length: int | None = None) -> bytes:
    """One frame; *length* overrides the declared payload length (to lie about it)."""
    size = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    bit = 0x80 if masked else 0
    if size < 126:
        head += bytes([bit | size])
    elif size < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", size)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", size)
    if not masked:
        return head + payload
    return head + MASK + bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))


def close(code: int, reason: bytes = b"") -> bytes:
    """A masked close frame with *code* and *reason*."""
    return frame(CLOSE, struct.pack("!H", code) + reason)


def deflated(data: bytes) -> bytes:
    """*data* compressed as permessage-deflate sends it (raw deflate, the final empty block removed)."""
    compressor = zlib.compressobj(wbits=-15)
    return (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]


def _seed(route: int, deflate: bool, frames: list[bytes], flags: int = 0x01) -> bytes:
    # control[3] ^ control[0] is the plan's choice: bits 0-1 the route, bit 2 permessage-deflate.
    return bytes([0, flags, 0, route | (4 if deflate else 0)]) + CUT.join(frames)


HELLO = frame(TEXT, b"hello")
SEEDS = [
    _seed(0, False, [HELLO, frame(BINARY, b"\x00\x01\x02"), close(1000)]),
    _seed(0, False, [frame(TEXT, b"hel", fin=False), frame(PING, b"p"), frame(CONT, b"lo")]),
    _seed(0, False, [frame(PING, b"x" * 125), frame(PONG, b""), close(1001, b"bye")]),
    _seed(0, False, [frame(TEXT, b"\xff\xfe")]),  # invalid UTF-8: 1007
    _seed(0, False, [frame(TEXT, b"caf\xc3", fin=False), frame(CONT, b"\xa9")]),  # UTF-8 across fragments
    _seed(0, False, [frame(TEXT, b"unmasked", masked=False)]),  # 1002
    _seed(0, False, [frame(BINARY, b"", length=1 << 40)]),  # over WEBSOCKET_MAX_SIZE: 1009
    _seed(0, False, [frame(PING, b"x" * 126)]),  # a control frame over 125 bytes
    _seed(0, False, [frame(PING, b"", fin=False)]),  # a fragmented control frame
    _seed(0, False, [frame(CONT, b"x")]),  # a continuation with nothing to continue
    _seed(0, False, [frame(TEXT, b"a", fin=False), frame(TEXT, b"b")]),  # a new message inside one
    _seed(0, False, [frame(TEXT, b"x", rsv=2)]),  # a reserved bit
    _seed(0, False, [frame(3, b"x")]),  # a reserved opcode
    _seed(0, False, [close(1005)]),  # a code that must not be sent
    _seed(0, False, [close(4000, b"\xff")]),  # a reason that is not UTF-8
    _seed(0, False, [frame(CLOSE, b"\x03")]),  # a one-byte close payload
    _seed(0, False, [HELLO, HELLO, HELLO], flags=0x09),  # a client that does not read
    _seed(0, False, [HELLO], flags=0x82),  # pings the client never answers, then EOF
    _seed(0, True, [frame(TEXT, deflated(b"hello hello hello"), rsv=4)]),
    _seed(0, True, [frame(TEXT, deflated(b"a" * 5000)[:3], rsv=4, fin=False), frame(CONT, b"\x00\x00")]),
    _seed(0, True, [frame(BINARY, b"\xff\xff\xff", rsv=4)]),  # not deflate data
    _seed(0, True, [frame(BINARY, deflated(b"\0" * 200_000), rsv=4)]),  # inflates past the limit
    _seed(1, False, [HELLO, HELLO]),
    _seed(2, False, [HELLO, frame(PING, b"p")]),
    _seed(3, False, [HELLO, close(1000)], flags=0x19),
    # Floods: one read repeated (amplified) into a stream of many frames.
    bytes([0, 0x61, 1, 0xf8]) + CUT.join([frame(TEXT, b"ab", fin=False), frame(CONT, b"cd", fin=False),
                                          frame(CONT, b"", fin=True)]),
    bytes([0, 0x61, 1, 0xf8]) + CUT.join([HELLO, frame(PING, b"p"), close(1000)]),
    bytes([0, 0x69, 1, 0xf8]) + CUT.join([HELLO, HELLO, close(1000)]),  # ... to a client that does not read
]
