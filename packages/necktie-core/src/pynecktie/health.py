"""Liveness and readiness: the answers at ``LIVENESS_PATH`` and ``READINESS_PATH``, and the checks an app
adds to readiness (``@app.health.check``).

Both are ordinary routes the app adds to itself when it is finalized, on every carrier, each only when its
path is set. Liveness answers 200 as long as the event loop runs handlers at all. Readiness answers 200
while the app's checks pass and the carrier serves normally, and 503 once the carrier has begun to drain
(`Health.begin_drain`: necktie-server calls it on ``SIGTERM`` and in a rolling restart, ``DRAIN_DELAY``
seconds before it stops accepting) or while a check fails. The drain itself is the carrier's: this module
only reports it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .response import HTTPResponse, json

if TYPE_CHECKING:
    from .app import Necktie

__all__ = ["Health", "install"]

logger = logging.getLogger("necktie.error")
Check = Callable[[], "Awaitable[bool | None] | bool | None"]
C = TypeVar("C", bound=Check)
_NO_STORE = {"cache-control": "no-store"}
_installed: weakref.WeakSet[Necktie] = weakref.WeakSet()


class Health:
    """An app's readiness: the checks it registered, and whether its carrier is draining (``app.health``)."""

    def __init__(self) -> None:
        self.draining = False
        self.checks: dict[str, Check] = {}

    def check(self, fn: C) -> C:
        """Register *fn* (a function or coroutine function without arguments) as a readiness check.

        Readiness is 503 while it returns False or raises (or runs longer than ``READINESS_CHECK_TIMEOUT``);
        True or None pass. It runs on every readiness request, concurrently with the other checks, so keep
        it cheap: look at a pool's state rather than open a connection. Its name in the answer is the
        function's name.
        """
        self.checks[getattr(fn, "__name__", repr(fn))] = fn
        return fn

    def begin_drain(self) -> None:
        """From now on readiness answers 503 (the carrier is about to stop; called by the carrier)."""
        self.draining = True

    async def results(self, timeout: float) -> dict[str, bool]:
        """Run every check at once; each one's outcome by name (False: it failed, raised or timed out)."""
        names = list(self.checks)
        outcomes = await asyncio.gather(*(_run(name, self.checks[name], timeout) for name in names))
        return dict(zip(names, outcomes, strict=True))

    async def readiness(self, timeout: float) -> HTTPResponse:
        """The readiness answer: 200 when ready, 503 when draining or a check fails."""
        if self.draining:
            return json({"status": "draining"}, status=503, headers=_NO_STORE)
        results = await self.results(timeout)
        ready = all(results.values())
        body: dict[str, Any] = {"status": "ready" if ready else "not ready"}
        if results:
            body["checks"] = {name: "ok" if ok else "failing" for name, ok in results.items()}
        return json(body, status=200 if ready else 503, headers=_NO_STORE)


async def _run(name: str, check: Check, timeout: float) -> bool:
    try:
        result = check()
        if inspect.isawaitable(result):
            result = await asyncio.wait_for(result, timeout or None)
    except TimeoutError:
        logger.warning("Readiness check %r did not answer within %s s", name, timeout)
        return False
    except Exception:
        logger.warning("Readiness check %r failed", name, exc_info=True)
        return False
    return result is not False


def install(app: Necktie) -> None:
    """Add the liveness and readiness routes their settings ask for, once (``app.finalize()`` calls it)."""
    config = app.config
    if app in _installed or not (config.LIVENESS_PATH or config.READINESS_PATH):
        return
    _installed.add(app)
    options: dict[str, Any] = {"methods": ("GET", "HEAD"), "openapi": False, "strict_slashes": True}

    async def liveness(request: Any) -> HTTPResponse:
        return json({"status": "alive"}, headers=_NO_STORE)

    async def readiness(request: Any) -> HTTPResponse:
        return await app.health.readiness(app.config.READINESS_CHECK_TIMEOUT)

    if config.LIVENESS_PATH:
        app.route(config.LIVENESS_PATH, name="health.liveness", **options)(liveness)
    if config.READINESS_PATH:
        app.route(config.READINESS_PATH, name="health.readiness", **options)(readiness)
