"""Back-pressure on one transport, both ways: the HTTP connection's, then the WebSocket's that takes it over.

Reading: `FlowControl.pause_reading` and `resume_reading` may be called any number of times; the
transport hears of a change only. Writing: the transport tells its protocol when its buffer passes the
high-water mark and when it drains again; the protocol passes that on here, and `Drain` (what a write
returns) waits while it lasts. A client that reads nothing for ``WRITE_TIMEOUT`` while the server waits
on it is cut off, and so is one that reads below ``RESPONSE_MIN_RATE`` (`necktie_server.rates`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Generator
from typing import Any

from pynecktie.exceptions import ConnectionClosed

from .rates import ResponseRate
from .settings import ServerSettings
from .timers import Deadline

error_logger = logging.getLogger("necktie.error")

# An awaited write that never has to wait still gives the loop a turn this often, so that a producer the
# transport never slows (a fast client, or a transport that is closing and drops what it is given) lets
# connection_lost and the other connections run.
YIELD_EVERY = 16


class FlowControl:
    """The read and write back-pressure of one transport (one per connection, handed over on upgrade)."""

    __slots__ = ("transport", "read_paused", "write_paused", "lost", "drain", "_loop", "_waiter",
                 "_deadline", "_write_timeout", "_unyielded", "_settings", "_rate", "_read_time",
                 "_read_since")  # fmt: skip

    def __init__(
        self, loop: asyncio.AbstractEventLoop, transport: asyncio.Transport, settings: ServerSettings
    ) -> None:
        self.transport = transport
        self.read_paused = False
        self.write_paused = False
        self.lost = False  # the connection is gone: nothing is read or written any more
        self.drain = Drain(self)  # one per connection: what every write returns
        self._loop = loop
        self._waiter: asyncio.Future[None] | None = None
        self._deadline: Deadline | None = None  # made at the first pause: most connections never pause
        self._write_timeout = settings.write_timeout
        self._unyielded = 0
        self._settings = settings
        self._rate: ResponseRate | None = None  # made at the first pause: most connections never pause
        self._read_time = 0.0  # seconds spent reading, up to the last pause
        self._read_since = loop.time()  # when reading last resumed

    # -- reading --------------------------------------------------------------------------------------
    def pause_reading(self) -> None:
        """Stop reading (nothing happens if already paused or gone)."""
        if not self.read_paused and not self.lost:
            self.read_paused = True
            self.transport.pause_reading()
            self._read_time += self._loop.time() - self._read_since

    def resume_reading(self) -> None:
        """Read again (nothing happens if not paused or gone)."""
        if self.read_paused and not self.lost:
            self.read_paused = False
            self.transport.resume_reading()
            self._read_since = self._loop.time()

    def reading_time(self) -> float:
        """Seconds spent reading (not paused) since the connection was made: the time the server waited on
        the client, for `BodyRate`."""
        if self.read_paused:
            return self._read_time
        return self._read_time + self._loop.time() - self._read_since

    # -- writing --------------------------------------------------------------------------------------
    def pause_writing(self) -> None:
        """The transport's buffer passed its high-water mark: writers wait, the write timeout runs."""
        self.write_paused = True
        if self._deadline is None:
            self._deadline = Deadline(self._loop, self._on_write_timeout)
        self._deadline.arm(self._write_timeout)
        if self._rate is None and self._settings.response_min_rate and not self.lost:
            settings = self._settings
            self._rate = ResponseRate(
                self._loop, self.transport, settings.response_min_rate, settings.response_min_rate_grace
            )
        if self._rate is not None:
            self._rate.paused()

    def resume_writing(self) -> None:
        """The transport's buffer drained: writers go on."""
        self.write_paused = False
        if self._deadline is not None:
            self._deadline.disarm()
        if self._rate is not None:
            self._rate.resumed()
        self.wake()

    def waiter(self) -> asyncio.Future[None]:
        """A future resolved when the buffer drains or the connection is lost (shared by all who wait)."""
        waiter = self._waiter
        if waiter is None or waiter.done():
            waiter = self._waiter = self._loop.create_future()
        return waiter

    def wake(self) -> None:
        """Resolve the current waiter: its awaiters look at the state again."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def connection_lost(self) -> None:
        """The transport is gone: wake the writers (they raise) and stop the timer."""
        self.lost = True
        if self._deadline is not None:
            self._deadline.cancel()
        if self._rate is not None:
            self._rate.stop()
        self.wake()

    def _on_write_timeout(self) -> None:
        if self.write_paused and not self.lost:
            error_logger.info(
                "Closing a connection whose client stopped reading for %ss", self._write_timeout
            )
            self.transport.abort()


class Drain:
    """What a write returns: awaiting it waits while the transport's buffer is full.

    It raises `ConnectionClosed` once the client is gone (or the transport is closing, so that what is
    written is dropped), and now and then yields to the loop even when there is nothing to wait for.
    """

    __slots__ = ("_flow",)

    def __init__(self, flow: FlowControl) -> None:
        self._flow = flow

    def __await__(self) -> Generator[Any, None, None]:
        flow = self._flow
        if flow.write_paused:
            flow._unyielded = 0
            while flow.write_paused and not flow.lost:
                yield from flow.waiter().__await__()
        elif flow._unyielded >= YIELD_EVERY:
            flow._unyielded = 0
            yield  # a bare yield: the task gives the loop one turn (as asyncio.sleep(0) does)
        else:
            flow._unyielded += 1
        if flow.lost or flow.transport.is_closing():
            raise ConnectionClosed("the client closed the connection")
