"""A request body handed to a streaming handler through a bounded buffer (the server's `BodySource`)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

CHUNK_OVERHEAD = 64  # about what a bytes object and its deque slot cost beyond the data


class BodyBuffer:
    """Chunks the parser produced and the handler has not taken yet, at most about ``limit`` bytes.

    ``feed`` returns True when the buffer is full: the transport should stop reading until
    ``on_drained`` is called, which happens when the handler has taken it below half.
    """

    __slots__ = (
        "_chunks",
        "_size",
        "_limit",
        "_waiter",
        "_complete",
        "_error",
        "_full",
        "_consumed",
        "_discarding",
        "fed",
        "on_drained",
        "on_first_read",
        "on_wait",
    )

    def __init__(self, limit: int) -> None:
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._limit = limit
        self._waiter: asyncio.Future[None] | None = None
        self._complete = False
        self._error: BaseException | None = None
        self._full = False
        self._consumed = False
        self._discarding = False
        self.fed = 0  # body bytes fed in all, whether taken, held or dropped
        self.on_drained: Callable[[], None] | None = None
        self.on_first_read: Callable[[], None] | None = None
        self.on_wait: Callable[[], None] | None = None

    @property
    def complete(self) -> bool:
        """True once the whole body has been fed."""
        return self._complete

    @property
    def consumed(self) -> bool:
        """True once the reader was told the body ended (so nothing of it is left unread)."""
        return self._consumed

    @property
    def full(self) -> bool:
        """True while the buffer holds its limit or more."""
        return self._full

    def feed(self, chunk: bytes) -> bool:
        """Add a chunk; True when the buffer is now full (the caller should pause reading)."""
        self.fed += len(chunk)
        if self._discarding:
            return False
        self._chunks.append(chunk)
        # Each waiting chunk is counted with its object's overhead, so a flood of 1-byte chunks fills
        # the buffer (and pauses reading) long before it costs more memory than its limit.
        self._size += len(chunk) + CHUNK_OVERHEAD
        self._wake()
        if self._size >= self._limit:
            self._full = True
        return self._full

    def discard(self) -> None:
        """Nobody will read the rest: drop what is held and whatever is fed from now on (reading resumes)."""
        self._discarding = True
        self._chunks.clear()
        self._size = 0
        if self._full:
            self._full = False
            if self.on_drained is not None:
                self.on_drained()

    def finish(self) -> None:
        """The body has ended."""
        self._complete = True
        self._wake()

    def fail(self, exc: BaseException) -> None:
        """The body cannot be completed (disconnect, timeout, framing error): ``receive`` raises *exc*."""
        if self._error is None and not self._complete:
            self._error = exc
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def receive(self) -> bytes | None:
        """The next chunk, or None at the end of the body."""
        if self.on_first_read is not None:
            callback, self.on_first_read = self.on_first_read, None
            callback()
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._size -= len(chunk) + CHUNK_OVERHEAD
                if self._full and self._size <= self._limit // 2:
                    self._full = False
                    if self.on_drained is not None:
                        self.on_drained()
                return chunk
            if self._error is not None:
                raise self._error
            if self._complete:
                self._consumed = True
                return None
            if self.on_wait is not None:
                self.on_wait()
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
