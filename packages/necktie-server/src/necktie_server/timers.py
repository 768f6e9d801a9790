"""Deadlines on a shared timer wheel: moving one costs a float store, and thousands of connections share a
few timer handles instead of holding one each (a uvloop timer handle is about 600 bytes)."""

from __future__ import annotations

import asyncio
import math
import weakref
from collections.abc import Callable

TICK = 1 / 16  # seconds: a deadline fires at most this late; those falling due within one tick share a handle


class Deadline:
    """Calls ``callback`` once the time set by ``arm`` passes, unless ``disarm`` came first.

    A deadline waits in one tick of its loop's `_Wheel`, at or after its time. Re-arming later only records
    the new time; when the tick comes, the deadline moves on to the tick of the time recorded. So a
    deadline moved on every request or every read costs one clock read, and the wheel holds one timer
    handle per tick in use, however many deadlines wait in it.
    """

    __slots__ = ("_loop", "_wheel", "_callback", "_when", "_tick")

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
        self._loop = loop
        self._wheel = _wheel_of(loop)
        self._callback = callback
        self._when: float | None = None
        self._tick: float | None = None  # the tick it waits in (None: in none)

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
        tick = self._tick
        if tick is None or tick > when + TICK:  # not waiting, or waiting too long: a tick of its own
            self._wheel.put(self, when)

    def disarm(self) -> None:
        """Forget the deadline; the tick it waits in will find nothing to do."""
        self._when = None

    def cancel(self) -> None:
        """Forget the deadline and leave its tick (when the connection closes: no timer is left behind)."""
        self._when = None
        if self._tick is not None:
            self._wheel.take(self)


class _Wheel:
    """The ticks of one loop: each the deadlines waiting in it (a dict: they run in the order they came, the
    same in every run) and the timer handle that runs them."""

    __slots__ = ("_loop_ref", "_ticks", "__weakref__")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop_ref = weakref.ref(loop)  # (the deadlines hold their loop; the wheel only finds it)
        self._ticks: dict[float, tuple[dict[Deadline, None], asyncio.TimerHandle]] = {}

    def put(self, deadline: Deadline, when: float) -> None:
        """Move *deadline* to the first tick at or after *when*."""
        if deadline._tick is not None:
            self.take(deadline)
        tick = math.ceil(when / TICK) * TICK
        entry = self._ticks.get(tick)
        if entry is None:
            entry = self._ticks[tick] = ({}, deadline._loop.call_at(tick, self._run, tick))
        entry[0][deadline] = None
        deadline._tick = tick

    def take(self, deadline: Deadline) -> None:
        """Remove *deadline* from its tick; a tick left empty drops its timer handle."""
        tick, deadline._tick = deadline._tick, None
        entry = self._ticks.get(tick) if tick is not None else None
        if entry is not None:
            entry[0].pop(deadline, None)
            if not entry[0]:
                entry[1].cancel()
                del self._ticks[tick]  # type: ignore[arg-type]  # not None when entry is not

    def _run(self, tick: float) -> None:
        entry = self._ticks.pop(tick, None)
        loop = self._loop_ref()
        if entry is None or loop is None:
            return
        now = loop.time()
        for deadline in entry[0]:  # (popped: what the callbacks arm goes to other ticks' dicts)
            if deadline._tick != tick:
                continue  # taken out or moved meanwhile by another deadline's callback
            deadline._tick = None
            when = deadline._when
            if when is None:
                continue
            if now < when:
                self.put(deadline, when)
                continue
            deadline._when = None
            try:
                deadline._callback()
            except Exception as exc:  # one failing callback must not keep the others of its tick from running
                loop.call_exception_handler(
                    {"message": "Exception in a deadline's callback", "exception": exc}
                )


# The wheel of each loop, by the loop's id, held weakly: the deadlines using a wheel keep it alive, and
# nothing here keeps a loop, its wheel or what its deadlines' callbacks refer to alive after they are done.
_WHEELS: weakref.WeakValueDictionary[int, _Wheel] = weakref.WeakValueDictionary()


def _wheel_of(loop: asyncio.AbstractEventLoop) -> _Wheel:
    wheel = _WHEELS.get(id(loop))
    if wheel is None or wheel._loop_ref() is not loop:  # (an id can be reused once its loop is gone)
        wheel = _WHEELS[id(loop)] = _Wheel(loop)
    return wheel
