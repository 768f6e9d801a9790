"""``RESPONSE_TIMEOUT`` for every handler task of one event loop, on one shared periodic timer.

``asyncio.timeout()`` per request would cost a timer handle and a context manager each time; here a
request costs a dict insert and delete, and one timer checks all of them a few times per timeout period.
A task past its deadline is cancelled, and `expired` tells the pipeline that this cancellation was ours
(so it can ``uncancel`` and answer 503), exactly as ``asyncio.timeout`` does for its own.
"""

from __future__ import annotations

import asyncio


class Watchdog:
    """Cancels the tasks it watches once they run longer than ``timeout`` seconds (checked every ``tick``)."""

    __slots__ = ("_loop", "_timeout", "_tick", "_deadlines", "_expired", "_handle")

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self._loop = loop
        self._timeout = timeout
        self._tick = min(1.0, timeout / 4)
        self._deadlines: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._handle: asyncio.TimerHandle | None = None

    def watch(self, task: asyncio.Task[object]) -> None:
        """Start the clock for *task*."""
        self._deadlines[task] = self._loop.time() + self._timeout
        if self._handle is None:
            self._handle = self._loop.call_later(self._tick, self._check)

    def unwatch(self, task: asyncio.Task[object]) -> None:
        """Stop watching *task* (its handler answered or failed)."""
        self._deadlines.pop(task, None)

    def expired(self, task: asyncio.Task[object]) -> bool:
        """True (once) when *task* was cancelled by this watchdog."""
        if task in self._expired:
            self._expired.discard(task)
            return True
        return False

    def _check(self) -> None:
        self._handle = None
        now = self._loop.time()
        late = [task for task, deadline in self._deadlines.items() if deadline <= now]
        for task in late:
            del self._deadlines[task]
            if not task.done():
                self._expired.add(task)
                task.cancel()
        if self._deadlines:
            self._handle = self._loop.call_later(self._tick, self._check)
