"""``RESPONSE_TIMEOUT`` for every handler task of one event loop, on one shared periodic timer.

``asyncio.timeout()`` per request would cost a timer handle and a context manager each time; here a
request costs a dict insert and delete, and one timer checks all of them a few times per timeout period.
A task past its deadline is cancelled, and `expired` tells the pipeline that this cancellation was ours
(so it can ``uncancel`` and answer 503), exactly as ``asyncio.timeout`` does for its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

try:  # Python 3.12+: current_task in C
    from _asyncio import current_task as _c_current_task  # type: ignore[attr-defined]  # 3.11's stub lacks it
except ImportError:  # pragma: no cover - depends on the Python version
    _c_current_task = None

try:  # Python 3.11: asyncio's own registry of running tasks, shared with its C accelerator
    from asyncio.tasks import _current_tasks  # type: ignore[attr-defined]  # private: typeshed leaves it out
except ImportError:  # pragma: no cover
    _current_tasks = None


def _current_task_getter() -> Callable[[asyncio.AbstractEventLoop], asyncio.Task[object] | None]:
    """The cheapest exact ``asyncio.current_task(loop)`` this Python offers."""
    if _c_current_task is not None:
        return _c_current_task  # type: ignore[no-any-return]  # untyped where the stub lacks it
    if isinstance(_current_tasks, dict):
        return _current_tasks.get
    return asyncio.current_task


current_task = _current_task_getter()


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


class Watchdogs:
    """One `Watchdog` per event loop an app is served on (a test server in a thread has a loop of its own)."""

    __slots__ = ("timeout", "_by_loop", "_last")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._by_loop: dict[asyncio.AbstractEventLoop, Watchdog] = {}
        self._last: Watchdog | None = None

    def start(self) -> tuple[Watchdog, asyncio.Task[object]]:
        """Start the clock for the running task on its loop's watchdog; both are returned.

        (`current` and starting the clock in one call, inline: this runs for every request.)
        """
        loop = asyncio.get_running_loop()
        watchdog = self._last
        if watchdog is None or watchdog._loop is not loop:
            watchdog = self.current()
        task: asyncio.Task[object] = current_task(loop)  # type: ignore[assignment]  # in a task: not None
        watchdog._deadlines[task] = loop.time() + watchdog._timeout
        if watchdog._handle is None:
            watchdog._handle = loop.call_later(watchdog._tick, watchdog._check)
        return watchdog, task

    def current(self) -> Watchdog:
        """The watchdog of the running loop."""
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last._loop is loop:
            return last
        watchdog = self._by_loop.get(loop)
        if watchdog is None:
            watchdog = self._by_loop[loop] = Watchdog(loop, self.timeout)
        self._last = watchdog
        return watchdog
