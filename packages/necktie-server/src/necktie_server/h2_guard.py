"""What an HTTP/2 client may make the server do, bounded on the raw frames before `h2` decodes any of them.

`FrameGuard.feed` reads the 9-byte header of every frame a client sends (it never looks into a payload)
and answers with the reason to close the connection, or None:

- a header block (HEADERS and its CONTINUATIONs) larger than ``HTTP2_MAX_HEADER_BLOCK_SIZE`` or in more
  than ``HTTP2_MAX_CONTINUATION_FRAMES`` continuations is refused before any of it is decoded (the
  CONTINUATION flood);
- streams reset (RST_STREAM) beyond ``HTTP2_MAX_RESETS`` per ``HTTP2_FLOOD_WINDOW`` seconds (Rapid Reset,
  CVE-2023-44487);
- frames that cost work but carry no request beyond ``HTTP2_MAX_CONTROL_FRAMES`` per window: SETTINGS,
  PING, WINDOW_UPDATE, PRIORITY, empty DATA and frame types the server ignores. Each DATA frame the server
  sends allows two more (`data_sent`): a client may acknowledge every one it reads with a WINDOW_UPDATE for
  the stream and one for the connection, as Go's does.

- a frame longer than `MAX_FRAME_SIZE`, refused on its header: h2 would buffer the whole declared length
  (up to 16 MiB) before it checks it.

The connection answers a reason with GOAWAY and the error code in ``code``: ``ENHANCE_YOUR_CALM``, or
``FRAME_SIZE_ERROR`` for a frame too long (`necktie_server.h2_connection`).
"""

from __future__ import annotations

from collections.abc import Callable

from h2.errors import ErrorCodes
from h2.settings import SettingCodes, Settings

from .settings import Http2Settings

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
FRAME_HEADER = 9
MAX_FRAME_SIZE = 16384  # SETTINGS_MAX_FRAME_SIZE as the server leaves it: the RFC's default
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = (
    range(10)
)
END_STREAM = 0x1
END_HEADERS = 0x4
_CONTROL = frozenset({PRIORITY, SETTINGS, PING, WINDOW_UPDATE})


def local_settings(limits: Http2Settings, max_header_size: int) -> Settings:
    """The SETTINGS the server advertises. h2 applies each at once except the header table size, which it
    applies once the client acknowledges it (until then the RFC's 4096 hold). The connection takes
    ``MAX_CONCURRENT_STREAMS`` back from h2 once sent and counts streams itself: h2 would answer one stream
    too many with a connection error, where a stream refused on its own lets the client retry it."""
    return Settings(
        client=False,
        initial_values={
            SettingCodes.MAX_CONCURRENT_STREAMS: limits.max_concurrent_streams,
            SettingCodes.INITIAL_WINDOW_SIZE: limits.initial_window_size,
            SettingCodes.HEADER_TABLE_SIZE: limits.header_table_size,
            SettingCodes.MAX_HEADER_LIST_SIZE: max_header_size,
            SettingCodes.ENABLE_PUSH: 0,
        },
    )


class Budget:
    """At most ``limit`` events per ``window`` seconds: a bucket of ``limit`` tokens refilled continuously.

    `credit` adds tokens beyond the limit (work the server did that a client may fairly answer).
    """

    __slots__ = ("_limit", "_rate", "_tokens", "_stamp")

    def __init__(self, limit: int, window: float, now: float) -> None:
        self._limit = float(limit)
        self._rate = limit / window
        self._tokens = float(limit)
        self._stamp = now

    def spend(self, now: float) -> bool:
        """Take one token; False once the bucket is empty."""
        tokens = self._tokens
        if tokens < self._limit:
            tokens = min(self._limit, tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        self._tokens = tokens - 1
        return self._tokens >= 0

    def credit(self, count: int) -> None:
        """Allow *count* more events."""
        self._tokens += count


class FrameGuard:
    """Scans a client's bytes frame header by frame header (see the module's docstring)."""

    __slots__ = ("_clock", "_settings", "_preface", "_skip", "_partial", "_block", "_continuations",
                 "in_block", "resets", "control", "code")  # fmt: skip

    def __init__(self, settings: Http2Settings, clock: Callable[[], float]) -> None:
        now = clock()
        self._clock = clock
        self._settings = settings
        self._preface = len(PREFACE)  # preface bytes still to pass over (h2 checks them)
        self._skip = 0  # payload bytes of the current frame still to pass over
        self._partial = b""  # the start of a frame header split across reads
        self._block = 0  # bytes of the header block being received
        self._continuations = 0
        self.in_block = False  # a header block has begun and not ended (the head deadline runs)
        self.resets = Budget(settings.max_resets, settings.flood_window, now)
        self.control = Budget(settings.max_control_frames, settings.flood_window, now)
        self.code = ErrorCodes.ENHANCE_YOUR_CALM  # the GOAWAY code of the reason `feed` gives

    def server_reset(self) -> str | None:
        """The server reset a stream for what the client did (a stream error, a stream refused past
        ``MAX_CONCURRENT_STREAMS``): that spends the reset budget as the client's own resets do, or a client
        could make the server reset streams instead ("MadeYouReset", CVE-2025-8671). The reason to close the
        connection, or None."""
        return None if self.resets.spend(self._clock()) else "too many streams reset"

    def data_sent(self, frames: int) -> None:
        """The server sent *frames* DATA frames: allow the WINDOW_UPDATEs that may acknowledge them."""
        self.control.credit(2 * frames)

    def feed(self, data: bytes) -> str | None:
        """Pass over *data*; the reason to close the connection, or None."""
        size = len(data)
        pos = 0
        if self._preface:
            pos = min(self._preface, size)
            self._preface -= pos
        now = 0.0
        while pos < size:
            if self._skip:
                step = min(self._skip, size - pos)
                self._skip -= step
                pos += step
                continue
            need = FRAME_HEADER - len(self._partial)
            if size - pos < need:
                self._partial += data[pos:]
                return None
            header = (
                self._partial + data[pos : pos + need] if self._partial else data[pos : pos + FRAME_HEADER]
            )
            self._partial = b""
            pos += need
            length = int.from_bytes(header[:3], "big")
            if length > MAX_FRAME_SIZE:
                self.code = ErrorCodes.FRAME_SIZE_ERROR
                return f"a frame of {length} bytes (at most {MAX_FRAME_SIZE})"
            self._skip = length
            if not now:
                now = self._clock()
            problem = self._check(length, header[3], header[4], now)
            if problem is not None:
                return problem
        return None

    def _check(self, length: int, kind: int, flags: int, now: float) -> str | None:
        settings = self._settings
        if self.in_block:
            if kind != CONTINUATION:
                return None  # a protocol error: h2 answers it
            self._continuations += 1
            self._block += length
            if self._continuations > settings.max_continuation_frames:
                return "too many CONTINUATION frames in a header block"
            if self._block > settings.max_header_block_size:
                return "header block too large"
            if flags & END_HEADERS:
                self.in_block = False
            return None
        if kind == HEADERS:
            if length > settings.max_header_block_size:
                return "header block too large"
            if not flags & END_HEADERS:
                self.in_block = True
                self._block = length
                self._continuations = 0
            return None
        if kind == RST_STREAM:
            return None if self.resets.spend(now) else "too many streams reset"
        if (
            kind in _CONTROL
            or kind > CONTINUATION
            or (kind == DATA and not length and not flags & END_STREAM)
        ):
            return None if self.control.spend(now) else "too many control frames"
        return None
