"""The common WebSocket frames read and written without the `websockets` protocol's parser; no I/O.

Most frames a server sees on a connection without extensions are whole, final, masked text or binary
frames, and most it sends are the same unmasked. For those, `WebSocketConnection` skips the `websockets`
protocol (a generator-based parser, a `Frame` object and its checks per frame: most of the CPU an echo
costs) and does the little RFC 6455 asks: the header read here, the payload unmasked by the `websockets`
C helper, UTF-8 checked by `ws_messages`. Every other frame (control, fragmented, reserved bits, unmasked,
over the size limit) still goes to the protocol, whole: `extent` tells where each frame ends, so the
protocol is always handed frames from their first byte and stays in step.
"""

from __future__ import annotations

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover  (websockets installed without its C extension)
    from websockets.utils import apply_mask

__all__ = ["apply_mask", "extent", "head", "plain"]

TEXT = 0x1
BINARY = 0x2
FIN = 0x80
MASKED = 0x80
MAX_HEADER = 14  # 2 bytes, 8 of extended length, 4 of mask


def extent(data: bytes, pos: int) -> tuple[int, int] | None:
    """(where the payload starts, where the frame ends) for the frame at *data[pos:]*, or ``None`` while its
    header is not all there."""
    avail = len(data) - pos
    if avail < 2:
        return None
    second = data[pos + 1]
    length = second & 0x7F
    head = 2
    if length == 126:
        head = 4
        if avail < head:
            return None
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
    elif length == 127:
        head = 10
        if avail < head:
            return None
        length = int.from_bytes(data[pos + 2 : pos + 10], "big")
    if second & MASKED:
        head += 4
    if avail < head:
        return None
    return pos + head, pos + head + length


def plain(data: bytes, pos: int, payload: int, end: int, max_size: int | None) -> bool:
    """Whether the frame at *pos* (payload from *payload* to *end*) is one the fast path may take: final,
    no reserved bit, text or binary, masked, within *max_size*."""
    first = data[pos]
    return (
        first & 0xF0 == FIN
        and (first & 0x0F == TEXT or first & 0x0F == BINARY)
        and data[pos + 1] & MASKED != 0
        and (max_size is None or end - payload <= max_size)
    )


# The head of an unmasked final frame for the payload lengths under 126, built once (one lookup per send).
_SHORT_HEADS = {opcode: [bytes((FIN | opcode, n)) for n in range(126)] for opcode in (TEXT, BINARY)}


def head(opcode: int, length: int) -> bytes:
    """The header of an unmasked, final *opcode* frame carrying *length* bytes."""
    if length < 126:
        return _SHORT_HEADS[opcode][length]
    if length < 1 << 16:
        return bytes((FIN | opcode, 126)) + length.to_bytes(2, "big")
    return bytes((FIN | opcode, 127)) + length.to_bytes(8, "big")
