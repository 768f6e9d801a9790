"""The ASGI ``lifespan`` scope runs the app's server listeners."""

from __future__ import annotations

import asyncio

from pynecktie import Necktie


class Lifespan:
    """A scripted lifespan: ``startup()`` / ``shutdown()`` send the events and return the app's answer."""

    def __init__(self, app: Necktie) -> None:
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.outbox: asyncio.Queue = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.get_running_loop().create_task(app(scope, self.inbox.get, self.outbox.put))

    async def _event(self, kind: str) -> dict:
        self.inbox.put_nowait({"type": kind})
        return await asyncio.wait_for(self.outbox.get(), 10)

    async def startup(self) -> dict:
        return await self._event("lifespan.startup")

    async def shutdown(self) -> dict:
        return await self._event("lifespan.shutdown")


async def test_listeners_run_on_startup_and_shutdown_in_order():
    app = Necktie("lifespan")
    calls = []

    @app.before_server_start
    async def bss(app_, loop):
        assert loop is asyncio.get_running_loop()
        calls.append("before_server_start")

    @app.after_server_start
    def ass(app_):
        calls.append("after_server_start")

    @app.listener("before_server_stop")
    async def bsp(app_, loop):
        calls.append("before_server_stop")

    @app.after_server_stop
    async def asp(app_):
        calls.append("after_server_stop")

    lifespan = Lifespan(app)
    assert await lifespan.startup() == {"type": "lifespan.startup.complete"}
    assert calls == ["before_server_start", "after_server_start"]
    assert await lifespan.shutdown() == {"type": "lifespan.shutdown.complete"}
    assert calls[2:] == ["before_server_stop", "after_server_stop"]
    await asyncio.wait_for(lifespan.task, 10)  # the lifespan call returns after shutdown


async def test_failing_startup_listener_reports_its_message():
    app = Necktie("lifespan_fail")
    later = []

    @app.before_server_start
    async def connect(app_, loop):
        raise RuntimeError("database unreachable")

    @app.after_server_start
    async def never(app_, loop):  # pragma: no cover - never reached
        later.append("ran")

    lifespan = Lifespan(app)
    answer = await lifespan.startup()
    assert answer["type"] == "lifespan.startup.failed"
    assert "RuntimeError: database unreachable" in answer["message"]
    assert later == []
    await asyncio.wait_for(lifespan.task, 10)


async def test_failing_shutdown_listener_reports_its_message():
    app = Necktie("lifespan_stop_fail")

    @app.after_server_stop
    async def close(app_, loop):
        raise ValueError("could not flush")

    lifespan = Lifespan(app)
    assert (await lifespan.startup())["type"] == "lifespan.startup.complete"
    answer = await lifespan.shutdown()
    assert answer == {"type": "lifespan.shutdown.failed", "message": "ValueError: could not flush"}


async def test_an_app_without_listeners_completes_both_phases():
    lifespan = Lifespan(Necktie("bare"))
    assert (await lifespan.startup())["type"] == "lifespan.startup.complete"
    assert (await lifespan.shutdown())["type"] == "lifespan.shutdown.complete"
