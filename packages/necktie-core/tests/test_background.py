"""Background work at the lifecycle's level (`pynecktie.background`): start, grace, cancel, coroutines.

The carriers' side (work after a response, real sockets): tests/adapters/test_background_on_every_carrier.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from pynecktie import Necktie, lifecycle


async def test_tasks_start_after_the_start_listeners_and_end_before_the_stop_ones():
    app = Necktie("bg")
    calls: list[str] = []

    async def task() -> None:
        calls.append("task started")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            calls.append("task cancelled")
            raise

    app.add_task(task)
    app.after_server_start(lambda app: calls.append("after_server_start"))
    app.after_server_stop(lambda app: calls.append("after_server_stop"))
    await lifecycle.start(app)
    await asyncio.sleep(0)
    assert [name.rsplit(".", 1)[-1] for name in app.background.running] == ["task"]
    await lifecycle.stop(app)
    assert calls == ["after_server_start", "task started", "task cancelled", "after_server_stop"]
    assert app.background.running == []


async def test_a_task_added_while_serving_starts_at_once_and_a_coroutine_runs_once():
    app = Necktie("bg")
    ran: list[str] = []

    async def once(label: str) -> None:
        ran.append(label)

    app.add_task(once("registered"), name="registered")
    await lifecycle.start(app)
    app.add_task(once("while serving"), name="late")
    await asyncio.sleep(0.01)
    await lifecycle.stop(app)
    await lifecycle.start(app)  # served again: the coroutine is not started a second time
    await lifecycle.stop(app)
    assert ran == ["registered", "while serving"]


async def test_a_coroutine_never_started_is_closed_at_shutdown():
    app = Necktie("bg")

    async def never() -> None:
        raise AssertionError("not run")

    coro = never()
    app.add_task(coro)
    await lifecycle.stop(app)  # stopped without a start (a failed start-up)
    assert coro.cr_frame is None  # closed: no "never awaited" warning


def test_add_task_refuses_what_is_not_work():
    with pytest.raises(TypeError, match="coroutine"):
        Necktie("bg").add_task(42)  # type: ignore[arg-type]


async def test_a_task_that_ignores_its_cancellation_is_left_after_the_grace(caplog):
    app = Necktie("bg")
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = 0.2
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                pass

    app.add_task(stubborn, name="stubborn")
    await lifecycle.start(app)
    await asyncio.sleep(0)
    with caplog.at_level(logging.INFO, "necktie"):
        await lifecycle.stop(app)
    assert "Cancelling background tasks: stubborn" in caplog.text
    assert "did not end within 0.2s of being cancelled: stubborn" in caplog.text
    release.set()
    for task in list(app.background.app_tasks):
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_request_work_past_the_grace_is_cancelled_and_named(caplog):
    app = Necktie("bg")
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = 0.2
    cancelled = asyncio.Event()

    async def long_work(n: int) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    await lifecycle.start(app)
    app.background.after_response([(long_work, (1,), {})], "GET /report")
    await asyncio.sleep(0)
    with caplog.at_level(logging.INFO, "necktie"):
        await lifecycle.stop(app)
    assert cancelled.is_set()
    assert "Waiting up to 0.2s for background work: " in caplog.text
    assert "still running after 0.2s, cancelled: " in caplog.text
    assert "long_work after GET /report" in caplog.text
