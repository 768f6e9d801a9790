"""Background work: app-lifetime tasks (``app.add_task``) and work a request leaves for after its response
(``request.add_background``), on every carrier.

`pynecktie.lifecycle` starts the app's tasks at the end of its start-up sequence and, at shut-down, after
the carrier has drained the requests in flight: it first waits for the requests' background work (within
``GRACEFUL_SHUTDOWN_TIMEOUT``, counted from there), cancels what is left of it, then cancels the app's tasks
and gives them the same grace to finish their clean-up. Every piece of work is an `asyncio.Task` with a
name, listed by `BackgroundWork.running` and in the shut-down log lines; an exception it raises is logged
on ``necktie.error`` and goes no further.

A request's background calls run in one task of their own, in the order they were added, once the pipeline
has handed the complete response to the carrier (the transport of necktie-server, the ASGI server's
``send``): when the response failed or the connection was lost before that, they do not run at all.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

error_logger = logging.getLogger("necktie.error")
logger = logging.getLogger("necktie.root")

TaskSource = Coroutine[Any, Any, Any] | Callable[[], Awaitable[Any]]
Call = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


def _name_of(fn: Any) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn))


class BackgroundWork:
    """The background work of one app: its registered tasks and everything running right now."""

    def __init__(self) -> None:
        self.sources: list[tuple[str, TaskSource]] = []
        self.app_tasks: set[asyncio.Task[Any]] = set()
        self.request_tasks: set[asyncio.Task[Any]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None  # set while the app is served

    @property
    def running(self) -> list[str]:
        """The names of the background tasks running now (the app's and the requests')."""
        return sorted(t.get_name() for t in self.app_tasks | self.request_tasks if not t.done())

    # -- app-lifetime tasks -----------------------------------------------------------------------------
    def add(self, source: TaskSource, name: str | None = None) -> None:
        """Register *source* (a coroutine function, or a coroutine when the app is served only once); it
        starts with the server, or at once when the server is already running."""
        if not (inspect.iscoroutine(source) or callable(source)):
            raise TypeError(f"add_task takes a coroutine or a function returning one, not {source!r}")
        name = name or _name_of(getattr(source, "cr_code", source))
        if self.loop is not None:
            self._start(name, source)
        else:
            self.sources.append((name, source))

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the registered tasks on *loop* (the end of the start-up sequence)."""
        self.loop = loop
        # A coroutine runs only once: it is dropped from the registrations when it starts.
        sources, self.sources = self.sources, [(n, s) for n, s in self.sources if not inspect.iscoroutine(s)]
        for name, source in sources:
            self._start(name, source)

    def _start(self, name: str, source: TaskSource) -> None:
        assert self.loop is not None
        coro = source if inspect.iscoroutine(source) else _call(source)  # type: ignore[arg-type]  # callable
        task = self.loop.create_task(coro, name=name)
        self.app_tasks.add(task)
        task.add_done_callback(self._app_task_done)

    def _app_task_done(self, task: asyncio.Task[Any]) -> None:
        self.app_tasks.discard(task)
        _log_failure(task, "Background task %r failed")

    # -- a request's work after its response --------------------------------------------------------------
    def after_response(self, calls: list[Call], label: str) -> None:
        """Run *calls* in order in a task of their own, named after the first and the request (*label*); one
        that raises is logged and the next still runs."""
        name = f"{_name_of(calls[0][0])} after {label}"
        task = asyncio.get_running_loop().create_task(_run_calls(calls, label), name=name)
        self.request_tasks.add(task)
        task.add_done_callback(self._request_task_done)

    def _request_task_done(self, task: asyncio.Task[Any]) -> None:
        self.request_tasks.discard(task)
        _log_failure(task, "Background work %r failed")

    # -- shut-down ----------------------------------------------------------------------------------------
    async def stop(self, grace: float) -> None:
        """Wait up to *grace* seconds for the requests' work, cancel the rest; then cancel the app's tasks
        and wait up to *grace* seconds for them to end."""
        self.loop = None
        for _, source in self.sources:
            if inspect.iscoroutine(source):  # never started: close it, so it is not reported as never awaited
                source.close()
        self.sources = [(n, s) for n, s in self.sources if not inspect.iscoroutine(s)]
        await _finish(self.request_tasks, grace, cancel_first=False)
        await _finish(self.app_tasks, grace, cancel_first=True)


async def _call(factory: Callable[[], Awaitable[Any]]) -> Any:
    return await factory()


async def _run_calls(calls: list[Call], label: str) -> None:
    """Each call in turn; one that raises is logged and the next one still runs."""
    for fn, args, kwargs in calls:
        try:
            if inspect.iscoroutinefunction(fn):
                await fn(*args, **kwargs)
                continue
            # A plain function runs in a worker thread, off the loop (it may block); what it returns is
            # awaited when that is awaitable (an object with an async __call__).
            result = await asyncio.to_thread(functools.partial(fn, *args, **kwargs))
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            error_logger.error("Background work %r failed", f"{_name_of(fn)} after {label}", exc_info=exc)


async def _finish(tasks: set[asyncio.Task[Any]], grace: float, *, cancel_first: bool) -> None:
    pending = {t for t in tasks if not t.done()}
    if not pending:
        return
    names = ", ".join(sorted(t.get_name() for t in pending))
    if cancel_first:
        logger.info("Cancelling background tasks: %s", names)
        for task in pending:
            task.cancel()
    else:
        logger.info("Waiting up to %ss for background work: %s", grace, names)
    _, pending = await asyncio.wait(pending, timeout=grace)
    if pending and not cancel_first:
        names = ", ".join(sorted(t.get_name() for t in pending))
        error_logger.warning("Background work still running after %ss, cancelled: %s", grace, names)
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=grace)
    if pending:
        names = ", ".join(sorted(t.get_name() for t in pending))
        error_logger.warning("Background tasks did not end within %ss of being cancelled: %s", grace, names)


def _log_failure(task: asyncio.Task[Any], message: str) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        error_logger.error(message, task.get_name(), exc_info=exc)
