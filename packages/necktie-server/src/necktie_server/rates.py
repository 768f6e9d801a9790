"""Minimum data rates: a request body that drips (``REQUEST_MIN_RATE``) and a reader that trickles
(``RESPONSE_MIN_RATE``), each measured only over the time the server waits on the client.

A timeout restarted by every byte cannot tell a slow client from a hostile one that sends (or reads) a
byte just often enough; an average over the waiting can. Each rate is checked by one timer, set for the
earliest moment the average could fall below the minimum, so a connection that keeps up costs a timer
every few seconds, not work per read.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import struct
import termios
from collections.abc import Callable
from typing import TYPE_CHECKING

from .timers import Deadline

if TYPE_CHECKING:
    from .flow_control import FlowControl

error_logger = logging.getLogger("necktie.error")

_RECHECK = 1.0  # at most this often while a rate holds or the clock is stopped


class BodyRate:
    """``REQUEST_MIN_RATE`` for the request bodies of one connection: from a body's first byte, once
    *grace* seconds of reading have passed, its average must stay at or above *rate* bytes per second.

    The clock is `FlowControl.reading_time`: it stops while reading is paused (a stream handler's full
    buffer, a full pipeline), so a handler slow to read never makes its client look slow.
    """

    __slots__ = ("received", "running", "_flow", "_rate", "_grace", "_start", "_timer", "_on_slow")

    def __init__(self, loop: asyncio.AbstractEventLoop, flow: FlowControl, rate: float, grace: float,
                 on_slow: Callable[[], None]) -> None:  # fmt: skip
        self.received = 0  # body bytes since start()
        self.running = False
        self._flow = flow
        self._rate = rate
        self._grace = grace
        self._start = 0.0
        self._timer = Deadline(loop, self._check)
        self._on_slow = on_slow

    def start(self, received: int) -> None:
        """A body's first *received* bytes arrived: its clock starts."""
        self.received = received
        self.running = True
        self._start = self._flow.reading_time()
        self._timer.arm(max(self._grace, _RECHECK))

    def stop(self) -> None:
        """The body ended (or the connection): no more checks."""
        self.running = False
        self._timer.cancel()

    def _check(self) -> None:
        if not self.running:
            return
        waited = self._flow.reading_time() - self._start
        if waited >= self._grace and self.received < self._rate * waited:
            self.running = False
            self._on_slow()
            return
        self._timer.arm(max(_RECHECK, self.received / self._rate - waited, self._grace - waited))


class ResponseRate:
    """``RESPONSE_MIN_RATE`` for one transport: the bytes the client took while the server's writes were
    paused, over all the time they were, must stay at or above *rate* per second once *grace* seconds of
    such waiting have passed; else the connection is aborted.

    What the client took is what left the transport's buffer and the kernel's send queue (``TIOCOUTQ``
    where there is a socket), so a client reading steadily through large kernel buffers is not mistaken
    for one that stopped.
    """

    __slots__ = ("_transport", "_loop", "_rate", "_grace", "_timer", "_paused", "_since", "_unsent_then",
                 "_waited", "_taken", "_fd")  # fmt: skip

    def __init__(
        self, loop: asyncio.AbstractEventLoop, transport: asyncio.Transport, rate: float, grace: float
    ) -> None:
        self._transport = transport
        self._loop = loop
        self._rate = rate
        self._grace = grace
        self._timer = Deadline(loop, self._check)
        self._paused = False
        self._since = 0.0
        self._unsent_then = 0
        self._waited = 0.0  # seconds spent paused, over past pauses
        self._taken = 0  # bytes the client took during them
        sock = transport.get_extra_info("socket")
        self._fd: int | None = sock.fileno() if sock is not None else None

    def paused(self) -> None:
        """Writes wait on the client from now."""
        self._paused = True
        self._since = self._loop.time()
        self._unsent_then = self._unsent()
        self._timer.arm(max(_RECHECK, self._grace - self._waited))

    def resumed(self) -> None:
        """Writes go on: this pause's time and progress are added to the totals."""
        if self._paused:
            self._paused = False
            self._waited += self._loop.time() - self._since
            self._taken += max(0, self._unsent_then - self._unsent())
            self._timer.disarm()

    def stop(self) -> None:
        """The connection is gone."""
        self._paused = False
        self._timer.cancel()

    def _unsent(self) -> int:
        size = self._transport.get_write_buffer_size()
        if self._fd is not None:
            try:
                size += struct.unpack("i", fcntl.ioctl(self._fd, termios.TIOCOUTQ, b"\0\0\0\0"))[0]
            except (OSError, AttributeError):
                self._fd = None  # not a socket that says (or no longer open): the transport's buffer alone
        return size

    def _check(self) -> None:
        if not self._paused:
            return
        waited = self._waited + self._loop.time() - self._since
        taken = self._taken + max(0, self._unsent_then - self._unsent())
        if waited >= self._grace and taken < self._rate * waited:
            error_logger.info(
                "Closing a connection whose client took %d bytes in %.1fs of waiting (RESPONSE_MIN_RATE %s)",
                taken, waited, self._rate,
            )  # fmt: skip
            self._transport.abort()
            return
        self._timer.arm(max(_RECHECK, taken / self._rate - waited, self._grace - waited))
