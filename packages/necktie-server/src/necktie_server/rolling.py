"""Rolling restart: ``SIGHUP`` to the supervisor of ``--workers N`` replaces the workers one by one.

For each worker in turn: a new worker process starts (a fresh interpreter, so it runs the code now on
disk) and the supervisor waits until it accepts connections; only then is the old one sent ``SIGTERM``,
and it drains as any server does (`necktie_server.drain`: readiness 503, ``DRAIN_DELAY`` still serving,
the listener closed without resetting what the kernel queued, in-flight requests finished within
``GRACEFUL_SHUTDOWN_TIMEOUT``). The next worker is replaced once the old one has exited, so at most
N + 1 workers run. With SO_REUSEPORT the new worker's socket joins the port's group before the old one
leaves it; with a shared socket the old worker merely stops accepting from it.

A new worker that exits before it serves (the code on disk no longer imports, say) stops the rolling
restart: the old worker it was to replace stays, and so do the others. A ``SIGHUP`` during a rolling
restart starts another one after it, so every worker ends up started after the last signal.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .workers import Supervisor, _Worker

logger = logging.getLogger("necktie.root")
error_logger = logging.getLogger("necktie.error")


class _Stopped(Exception):
    """The supervisor was told to stop (or gave up) during the rolling restart."""


def roll(supervisor: Supervisor) -> str | None:
    """Replace every worker of *supervisor*, one at a time; returns why the supervisor must give up, if
    it must (as `Supervisor.run` does), else None."""
    supervisor.roll_requested = False
    logger.info("Rolling restart: replacing %d workers one by one", len(supervisor.workers))
    try:
        for index in sorted(supervisor.workers):
            if not _replace(supervisor, index):
                return None
    except _Stopped as stopped:
        return str(stopped) or None
    logger.info("Rolling restart done")
    return None


def _replace(supervisor: Supervisor, index: int) -> bool:
    """Start a new worker *index*, then drain the old one; False when the new one failed to start."""
    old = supervisor.workers[index]
    supervisor.retiring.append(old)
    new = supervisor.candidate = supervisor._spawn(index)
    try:
        _wait(supervisor, lambda: new.ready or new.process.poll() is not None)
    finally:
        supervisor.candidate = None
    if not new.ready:
        new.process.wait()
        supervisor.retiring.remove(old)
        supervisor.workers[index] = old
        error_logger.error(
            "Rolling restart stopped: the new worker %s (pid %s) exited with status %s before serving; "
            "the old workers go on",
            index,
            new.process.pid,
            new.process.returncode,
        )
        return False
    logger.info(
        "Worker %s replaced (pid %s, was %s); draining the old one", index, new.process.pid, old.process.pid
    )
    _retire(supervisor, old)
    return True


def _retire(supervisor: Supervisor, old: _Worker) -> None:
    """Send *old* SIGTERM and wait for it to exit (killing it past its stop time)."""
    from .workers import _signal

    _signal(old.process, signal.SIGTERM)
    deadline = time.monotonic() + supervisor.stop_time(signal.SIGTERM)
    try:
        _wait(supervisor, lambda: old.process.poll() is not None or time.monotonic() > deadline)
        if old.process.poll() is None:
            error_logger.warning(
                "Worker %s (pid %s) did not stop in time; killing it", old.index, old.process.pid
            )
            _signal(old.process, signal.SIGKILL)
            old.process.wait()
    finally:
        if old.process.poll() is not None:
            supervisor.retiring.remove(old)


def _wait(supervisor: Supervisor, done: Callable[[], bool]) -> None:
    """Supervise as usual (readiness reports, workers that die) until *done()*; `_Stopped` on a stop."""
    while not done():
        supervisor._wait(0.1)
        supervisor._read_ready()
        if supervisor.stop_signal is not None:
            raise _Stopped()
        failure = supervisor._reap()
        if failure:
            raise _Stopped(failure)
