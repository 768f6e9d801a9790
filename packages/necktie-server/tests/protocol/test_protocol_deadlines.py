"""`Deadline` on the shared timer wheel, on a fake clock: when deadlines fire, how many timers they use."""

from __future__ import annotations

import asyncio
import gc
import weakref

from necktie_server.timers import TICK, Deadline
from nt_mock import FakeClock


async def test_deadlines_falling_due_together_share_one_timer_and_each_fires_once() -> None:
    clock = FakeClock(asyncio.get_running_loop())
    fired: list[int] = []
    deadlines = [Deadline(clock, lambda i=i: fired.append(i)) for i in range(1000)]  # type: ignore[arg-type]
    for deadline in deadlines:
        deadline.arm(5.0)
    assert clock.pending == 1  # one handle for the tick, not one per deadline
    clock.advance(4.9)
    assert fired == []
    clock.advance(0.1 + TICK)
    assert fired == list(range(1000))
    assert clock.pending == 0
    clock.advance(10.0)
    assert len(fired) == 1000


async def test_a_deadline_moved_later_fires_late_and_one_moved_earlier_early() -> None:
    clock = FakeClock(asyncio.get_running_loop())
    fired: list[str] = []
    later = Deadline(clock, lambda: fired.append("later"))  # type: ignore[arg-type]
    earlier = Deadline(clock, lambda: fired.append("earlier"))  # type: ignore[arg-type]
    later.arm(1.0)
    earlier.arm(5.0)
    clock.advance(0.5)
    later.arm(2.0)  # now due at 2.5: it waits in its old tick, then moves on
    earlier.arm(0.5)  # now due at 1.0: it moves to an earlier tick at once
    clock.advance(0.5 + TICK)
    assert fired == ["earlier"]
    clock.advance(1.0)
    assert fired == ["earlier"]
    clock.advance(0.5 + TICK)
    assert fired == ["earlier", "later"]


async def test_disarmed_and_cancelled_deadlines_do_not_fire_and_cancel_leaves_no_timer() -> None:
    clock = FakeClock(asyncio.get_running_loop())
    fired: list[str] = []
    disarmed = Deadline(clock, lambda: fired.append("disarmed"))  # type: ignore[arg-type]
    cancelled = Deadline(clock, lambda: fired.append("cancelled"))  # type: ignore[arg-type]
    disarmed.arm(1.0)
    disarmed.disarm()
    assert not disarmed.armed
    clock.advance(2.0)
    cancelled.arm(1.0)
    cancelled.cancel()
    assert clock.pending == 0
    clock.advance(2.0)
    assert fired == []


async def test_a_failing_callback_does_not_keep_the_others_of_its_tick_from_running() -> None:
    loop = asyncio.get_running_loop()
    clock = FakeClock(loop)
    reported: list[BaseException] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context["exception"]))
    try:
        fired: list[str] = []

        def fail() -> None:
            raise RuntimeError("boom")

        Deadline(clock, fail).arm(1.0)  # type: ignore[arg-type]
        Deadline(clock, lambda: fired.append("second")).arm(1.0)  # type: ignore[arg-type]
        clock.advance(1.0 + TICK)
        assert fired == ["second"]
        assert [str(exc) for exc in reported] == ["boom"]
    finally:
        loop.set_exception_handler(None)


def test_a_loop_with_deadlines_still_waiting_is_freed_once_nothing_uses_it() -> None:
    # A server's loop that ends with deadlines waiting (disarmed, or armed far ahead) must not be kept alive
    # by the wheel's registry, with every connection its deadlines' callbacks refer to.
    loop = asyncio.new_event_loop()
    Deadline(loop, lambda: None).arm(60.0)
    disarmed = Deadline(loop, lambda: None)
    disarmed.arm(30.0)
    disarmed.disarm()
    loop.close()
    gone = weakref.ref(loop)
    del loop, disarmed
    gc.collect()
    assert gone() is None
