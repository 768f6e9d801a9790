"""The start-up and shut-down sequence every carrier runs (`pynecktie.lifecycle`), with plain steps."""

from __future__ import annotations

import pytest
from pynecktie import Necktie, lifecycle


def _app(calls: list[str], fail: str | None = None) -> Necktie:
    app = Necktie("lifecycle")
    for event in ("before_server_start", "after_server_start", "before_server_stop", "after_server_stop"):

        def listener(app_, loop, event=event):
            if event == fail:
                raise RuntimeError(f"{event} broke")
            calls.append(event)

        app.listener(event)(listener)
    return app


def _step(calls: list[str], name: str):
    async def step() -> None:
        calls.append(name)

    return step


async def test_the_carrier_listens_between_the_start_listeners_and_drains_between_the_stop_ones():
    calls: list[str] = []
    app = _app(calls)
    await lifecycle.start(app, listen=_step(calls, "listen"))
    await lifecycle.stop(app, drain=_step(calls, "drain"))
    assert calls == ["before_server_start", "listen", "after_server_start",
                     "before_server_stop", "drain", "after_server_stop"]


async def test_a_failing_start_listener_stops_the_sequence_before_listening():
    calls: list[str] = []
    app = _app(calls, fail="before_server_start")
    with pytest.raises(RuntimeError, match="before_server_start broke") as info:
        await lifecycle.start(app, listen=_step(calls, "listen"))
    assert calls == []
    assert lifecycle.describe_failure(info.value) == "RuntimeError: before_server_start broke"


async def test_start_finalizes_the_app():
    calls: list[str] = []
    app = _app(calls)
    app.request_middleware.append(lambda request: None)
    await lifecycle.start(app)
    assert app._app_chains[0] == tuple(app.request_middleware)
