"""Incoming WebSocket messages put together from their data frames, within the limits; no I/O.

The `websockets` protocol checks the framing (masking, opcodes, reserved bits, the order of fragments,
control frames) and refuses a frame whose header already announces more than the size limit. What is left
is the message itself: its fragments go into one buffer (so a message costs about its size, however many
frames it came in), their number is bounded, and text is checked for UTF-8 as each fragment arrives, so
garbage is refused at once instead of being buffered up to the size limit.
"""

from __future__ import annotations

import codecs

from pynecktie.websocket import INVALID_DATA, MESSAGE_TOO_BIG, Message
from websockets.frames import Frame, Opcode
from websockets.typing import BytesLike

_utf8_decoder = codecs.getincrementaldecoder("utf-8")
INVALID_UTF8 = "invalid UTF-8 in a text message"


class MessageError(Exception):
    """A message the connection is failed for: ``code`` is the close code to send, ``reason`` its text."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


class MessageAssembler:
    """Data frames in, whole messages out: ``str`` for text, ``bytes`` for binary.

    *max_size* bounds a message's payload in bytes, *max_fragments* the number of frames it comes in;
    ``0`` means no limit. Past either, `feed` raises `MessageError` with 1009; text that is not UTF-8
    raises it with 1007.
    """

    __slots__ = ("_buffer", "_decoder", "_fragments", "max_fragments", "max_size")

    def __init__(self, max_size: int, max_fragments: int) -> None:
        self.max_size = max_size
        self.max_fragments = max_fragments
        self._buffer = bytearray()
        self._fragments = 0  # frames of the message being assembled; 0 between messages
        self._decoder: codecs.IncrementalDecoder | None = None

    def feed(self, frame: Frame) -> Message | None:
        """Take a TEXT, BINARY or CONT frame; the message it completes, or ``None`` while one is open.

        The `websockets` protocol has already refused frames out of order (a continuation with no message
        open, a new message before the last one ended), so only the limits and the encoding are checked.
        """
        data = frame.data
        if frame.opcode is not Opcode.CONT:
            text = frame.opcode is Opcode.TEXT
            if frame.fin:  # the common case, a message in one frame: nothing is copied
                return whole_message(data, text)
            self._buffer = bytearray(data)
            self._fragments = 1
            self._decoder = _utf8_decoder() if text else None
        else:
            self._fragments += 1
            if self.max_fragments and self._fragments > self.max_fragments:
                raise self._refuse(MESSAGE_TOO_BIG, f"message in more than {self.max_fragments} fragments")
            self._buffer += data
        if self.max_size and len(self._buffer) > self.max_size:
            raise self._refuse(MESSAGE_TOO_BIG, f"message over {self.max_size} bytes")
        decoder = self._decoder
        if not frame.fin:
            if decoder is not None:
                try:
                    decoder.decode(data)  # only to refuse bad text early; the message is decoded whole
                except UnicodeDecodeError:
                    raise self._refuse(INVALID_DATA, INVALID_UTF8) from None
            return None
        buffer = self._buffer
        self._reset()
        return whole_message(buffer, decoder is not None)

    def _reset(self) -> None:
        self._buffer, self._fragments, self._decoder = bytearray(), 0, None

    def _refuse(self, code: int, reason: str) -> MessageError:
        self._reset()  # the connection is failed: what was received of the message is not kept
        return MessageError(code, reason)


def whole_message(data: BytesLike, text: bool) -> Message:
    """*data* as the message a handler receives; `MessageError` (1007) for text that is not UTF-8."""
    if text:
        try:
            return str(data, "utf-8")
        except UnicodeDecodeError:
            raise MessageError(INVALID_DATA, INVALID_UTF8) from None
    return data if type(data) is bytes else bytes(data)
