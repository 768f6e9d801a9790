"""A lazily re-armed deadline: moving it costs a float store, not a new timer handle."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Deadline:
    """Calls ``callback`` once the time set by ``arm`` passes, unless ``disarm`` came first.

    Re-arming later than the pending timer only records the new time; when the timer fires early it
    schedules itself again for the recorded deadline. So a deadline moved on every request or every
    read costs one clock read, and at most one timer handle per period.
    """

    __slots__ = ("_loop", "_callback", "_when", "_handle")

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
        self._loop = loop
        self._callback = callback
        self._when: float | None = None
        self._handle: asyncio.TimerHandle | None = None

    @property
    def armed(self) -> bool:
        """True while a deadline is set."""
        return self._when is not None

    def arm(self, delay: float) -> None:
        """Fire ``delay`` seconds from now (a delay of 0 means never)."""
        if not delay:
            self._when = None
            return
        when = self._loop.time() + delay
        self._when = when
        handle = self._handle
        if handle is None or handle.when() > when:
            if handle is not None:
                handle.cancel()
            self._handle = self._loop.call_at(when, self._fire)

    def disarm(self) -> None:
        """Forget the deadline; a pending timer will find nothing to do."""
        self._when = None

    def cancel(self) -> None:
        """Forget the deadline and drop the timer handle (when the connection closes)."""
        self._when = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        when = self._when
        if when is None:
            return
        if self._loop.time() < when:
            self._handle = self._loop.call_at(when, self._fire)
            return
        self._when = None
        self._callback()
