"""Liveness and readiness (`pynecktie.health`): the routes their settings add, the app's checks, the drain."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from pydantic import ValidationError
from pynecktie import Necktie


def _app(**settings) -> Necktie:
    app = Necktie("health")
    app.config.update_config({"LIVENESS_PATH": "/livez", "READINESS_PATH": "/readyz", **settings})
    return app


async def test_no_routes_unless_the_paths_are_set(app, call):
    assert (await call(app, "GET", "/livez")).status == 404
    assert not any(route.name.startswith("health.") for route in app.router.all_routes())


async def test_liveness_and_readiness_answer_200_with_no_store(call):
    app = _app()
    live = await call(app, "GET", "/livez")
    assert live.status == 200 and orjson.loads(live.body) == {"status": "alive"}
    assert live.headers.get("cache-control") == "no-store"
    ready = await call(app, "GET", "/readyz")
    assert ready.status == 200 and orjson.loads(ready.body) == {"status": "ready"}
    assert (await call(app, "HEAD", "/readyz")).status == 200
    assert "/readyz" not in app.openapi()["paths"]


async def test_readiness_is_503_once_the_carrier_drains_while_liveness_stays_200(call):
    app = _app()
    app.health.begin_drain()
    ready = await call(app, "GET", "/readyz")
    assert ready.status == 503 and orjson.loads(ready.body) == {"status": "draining"}
    assert (await call(app, "GET", "/livez")).status == 200


async def test_each_check_counts_and_a_failing_one_makes_readiness_503(call):
    app = _app(READINESS_CHECK_TIMEOUT=0.2)
    state = {"database": True, "cache": True}

    @app.health.check
    async def database():
        return state["database"]

    @app.health.check
    def cache():  # a plain function works too; None passes
        if not state["cache"]:
            raise ConnectionError("cache down")

    ready = await call(app, "GET", "/readyz")
    assert ready.status == 200
    assert orjson.loads(ready.body) == {"status": "ready", "checks": {"database": "ok", "cache": "ok"}}
    state["database"] = False
    state["cache"] = False
    ready = await call(app, "GET", "/readyz")
    assert ready.status == 503
    assert orjson.loads(ready.body) == {"status": "not ready",
                                        "checks": {"database": "failing", "cache": "failing"}}
    assert b"cache down" not in ready.body  # what broke is logged, not told to whoever probes


async def test_a_check_that_hangs_fails_after_the_timeout(call):
    app = _app(READINESS_CHECK_TIMEOUT=0.05)
    started = asyncio.Event()

    @app.health.check
    async def stuck():
        started.set()
        await asyncio.sleep(3600)

    ready = await call(app, "GET", "/readyz")
    assert started.is_set()
    assert ready.status == 503 and orjson.loads(ready.body)["checks"] == {"stuck": "failing"}


def test_the_paths_must_be_plain_absolute_paths():
    app = Necktie("health")
    for bad in ("livez", "/a/<b>", "/with space"):
        with pytest.raises(ValidationError):
            app.config.LIVENESS_PATH = bad
    with pytest.raises(ValidationError):
        app.config.DRAIN_DELAY = -1


async def test_a_new_start_is_ready_again_after_a_drain(call):
    from pynecktie import lifecycle

    app = _app()
    await lifecycle.start(app)
    app.health.begin_drain()
    await lifecycle.stop(app)
    assert (await call(app, "GET", "/readyz")).status == 503
    await lifecycle.start(app)
    assert (await call(app, "GET", "/readyz")).status == 200
    await lifecycle.stop(app)
