"""The start-up and shut-down sequence of an app, written once for every carrier.

necktie-server runs it around its listening sockets, the ASGI adapter on ``lifespan`` messages (where the
ASGI server listens), necktie-testing's in-process server around its in-memory connections:

- start: the app is finalized, ``before_server_start`` runs, the carrier starts accepting
  (``listen``), ``after_server_start`` runs, then the app's tasks start (``app.add_task``);
- stop: ``before_server_stop`` runs, the carrier stops accepting and lets requests in flight finish
  (``drain``), the background work ends (`pynecktie.background`: the requests' work is waited for, the
  app's tasks are cancelled, each within ``GRACEFUL_SHUTDOWN_TIMEOUT``), then ``after_server_stop`` runs.

A listener that raises stops the sequence there and its exception propagates to the carrier, which reports
it its own way (`describe_failure` gives the one-line form).
"""

from __future__ import annotations

import asyncio
import inspect
import traceback
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import Necktie

Step = Callable[[], Awaitable[None]]


async def start(
    app: Necktie, loop: asyncio.AbstractEventLoop | None = None, listen: Step | None = None
) -> None:
    """Finalize *app*, run ``before_server_start``, *listen*, ``after_server_start``; start app tasks."""
    app.finalize()
    app.health.draining = False  # started (again): readiness no longer reports an earlier drain
    await app.dispatch("before_server_start", loop)
    if listen is not None:
        await listen()
    await app.dispatch("after_server_start", loop)
    app.background.start(loop or asyncio.get_running_loop())


async def stop(
    app: Necktie, loop: asyncio.AbstractEventLoop | None = None, drain: Step | None = None
) -> None:
    """Run ``before_server_stop``, *drain*, end the background work, then run ``after_server_stop``."""
    await app.dispatch("before_server_stop", loop)
    if drain is not None:
        await drain()
    await app.background.stop(app.config.GRACEFUL_SHUTDOWN_TIMEOUT)
    await app.dispatch("after_server_stop", loop)


def describe_failure(exc: BaseException) -> str:
    """A failed listener in one line, ``"ExceptionType: message"``."""
    return "".join(traceback.format_exception_only(exc)).strip()


def listener_arity(fn: Callable[..., Any]) -> int:
    """How many positional arguments a listener takes (2 or more: ``(app, loop)``, else ``(app)``)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return 2
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
