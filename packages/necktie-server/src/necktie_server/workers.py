"""Several worker processes serving one address, under a supervisor that keeps them running.

Each worker is a fresh interpreter running the same command as the supervisor (the ``necktie`` command
line, or the script that called ``app.run()``), told through the environment that it is a worker and
where to listen: either an inherited listening socket shared by all, or the address to bind with
SO_REUSEPORT so the kernel balances connections among the workers' own sockets. A worker reports on a
pipe once it accepts connections. The supervisor restarts a worker that dies, restarts all of them when
the reloader sees a change, replaces them one by one on SIGHUP (`necktie_server.rolling`), and on
SIGINT/SIGTERM passes the signal on and waits for them to finish.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .errors import StartupError
from .sockets import bind_tcp

if TYPE_CHECKING:
    from .reload import Watcher

logger = logging.getLogger("necktie.root")
error_logger = logging.getLogger("necktie.error")

WORKER_ENV = "_NECKTIE_WORKER"  # not NECKTIE_*: those become app.config keys
MAX_FAILED_STARTS = 3  # workers that die before serving, in a row, before the supervisor gives up
KILL_GRACE = 5.0  # seconds past GRACEFUL_SHUTDOWN_TIMEOUT before a worker is killed


@dataclass(frozen=True)
class WorkerSpec:
    """What the supervisor tells a worker process: its number, where to listen and where to report."""

    index: int
    parent: int
    ready_fd: int
    fd: int | None = None  # an inherited listening socket shared by all workers
    host: str | None = None  # otherwise bind host:port with SO_REUSEPORT
    port: int = 0

    def dumps(self) -> str:
        """The spec as the value of the environment variable."""
        return json.dumps(asdict(self))

    @classmethod
    def from_environ(cls) -> WorkerSpec | None:
        """The spec this process was started with, or None when it is not a worker.

        The variable is removed, so processes the application starts are not taken for workers.
        """
        raw = os.environ.pop(WORKER_ENV, None)
        return cls(**json.loads(raw)) if raw else None

    def listening_socket(self, backlog: int) -> socket.socket:
        """The socket to accept on: the inherited one, or a new SO_REUSEPORT socket on the address."""
        if self.fd is not None:
            return socket.socket(fileno=self.fd)
        return bind_tcp(self.host, self.port, backlog=backlog, reuse_port=True)

    def announce_ready(self) -> None:
        """Tell the supervisor this worker is accepting connections."""
        try:
            os.write(self.ready_fd, f"{self.index} {os.getpid()}\n".encode())
            os.close(self.ready_fd)
        except OSError:
            pass

    def orphaned(self) -> bool:
        """True once the supervisor is gone (this process was re-parented)."""
        return os.getppid() != self.parent


@dataclass(eq=False)
class _Worker:
    index: int
    process: subprocess.Popen[bytes]
    started: float
    ready: bool = False


def default_command() -> list[str]:
    """The command line this interpreter was started with, to start workers the same way."""
    import sys

    return [sys.executable, *sys.orig_argv[1:]]


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class Supervisor:
    """Start *count* workers with *command* and keep them running until SIGINT/SIGTERM.

    Give it either *shared_fd* (a listening socket the workers inherit) or *host*/*port* (bound by each
    worker with SO_REUSEPORT). ``on_ready`` is called once, when every worker first accepts connections.
    """

    def __init__(
        self,
        command: list[str],
        count: int,
        *,
        shared_fd: int | None = None,
        host: str | None = None,
        port: int = 0,
        graceful_timeout: float = 15.0,
        drain_delay: float = 0.0,
        watcher: Watcher | None = None,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        self.command = command
        self.count = count
        self.shared_fd = shared_fd
        self.host = host
        self.port = port
        self.graceful_timeout = graceful_timeout
        self.drain_delay = drain_delay
        self.watcher = watcher
        self.on_ready = on_ready
        self.workers: dict[int, _Worker] = {}
        self.retiring: list[_Worker] = []  # replaced by a rolling restart, draining
        self.roll_requested = False
        self.candidate: _Worker | None = None  # a rolling restart's new worker, not yet serving: not reaped
        self.failed_starts = 0
        self.stop_signal: int | None = None
        self.signals_seen = 0
        self._ready_buffer = b""

    # -- the main loop --------------------------------------------------------------------------------
    def run(self) -> str | None:
        """Supervise until told to stop; returns None after a clean stop, else why it gave up."""
        if threading.current_thread() is not threading.main_thread():
            raise StartupError("several workers or --reload need to be started from the main thread")
        self._wake_r, self._wake_w = os.pipe()
        self._ready_r, self._ready_w = os.pipe()
        for fd in (self._wake_r, self._wake_w, self._ready_r):
            os.set_blocking(fd, False)
        previous = self._install_signals()
        failure: str | None = None
        announced = False
        try:
            if self.watcher is not None:
                self.watcher.start(self._wake)
            for index in range(self.count):
                self._spawn(index)
            while self.stop_signal is None:
                self._wait(1.0)
                self._read_ready()
                if self.stop_signal is not None:
                    break
                failure = self._reap()
                if failure:
                    break
                if self.watcher is not None and (changed := self.watcher.take_changes()):
                    self._reload(changed)
                if self.roll_requested:
                    from .rolling import roll

                    failure = roll(self)
                    if failure:
                        break
                if (
                    not announced
                    and len(self.workers) == self.count
                    and all(w.ready for w in self.workers.values())
                ):
                    announced = True
                    if self.on_ready is not None:
                        self.on_ready()
        finally:
            if self.watcher is not None:
                self.watcher.stop()
            self._terminate(self.stop_signal or signal.SIGTERM)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            signal.set_wakeup_fd(-1)
            for fd in (self._wake_r, self._wake_w, self._ready_r, self._ready_w):
                os.close(fd)
        return failure

    def _install_signals(self) -> dict[int, Any]:
        previous: dict[int, Any] = {}

        def on_stop(signum: int, frame: object) -> None:
            self.signals_seen += 1
            if self.stop_signal is None:
                self.stop_signal = signum

        def on_hangup(signum: int, frame: object) -> None:
            self.roll_requested = True

        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_stop)
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hangup)
        # A Python-level handler makes SIGCHLD write to the wake-up fd, so a dead worker ends the wait.
        previous[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        return previous

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"\0")
        except OSError:
            pass

    def _wait(self, timeout: float) -> None:
        try:
            readable, _, _ = select.select([self._wake_r, self._ready_r], [], [], timeout)
        except InterruptedError:
            return
        if self._wake_r in readable:
            try:
                while os.read(self._wake_r, 4096):
                    pass
            except BlockingIOError:
                pass

    def _read_ready(self) -> None:
        try:
            while chunk := os.read(self._ready_r, 4096):
                self._ready_buffer += chunk
        except BlockingIOError:
            pass
        *lines, self._ready_buffer = self._ready_buffer.split(b"\n")
        for line in lines:
            index_text, _, pid_text = line.decode().partition(" ")
            worker = self.workers.get(int(index_text))
            if worker is not None and worker.process.pid == int(pid_text):
                worker.ready = True
                self.failed_starts = 0
                logger.debug("Worker %s ready (pid %s)", worker.index, pid_text)

    # -- workers --------------------------------------------------------------------------------------
    def _spawn(self, index: int) -> _Worker:
        spec = WorkerSpec(
            index=index,
            parent=os.getpid(),
            ready_fd=self._ready_w,
            fd=self.shared_fd,
            host=self.host if self.shared_fd is None else None,
            port=self.port,
        )
        fds = (self._ready_w,) if self.shared_fd is None else (self._ready_w, self.shared_fd)
        env = {**os.environ, WORKER_ENV: spec.dumps()}
        process = subprocess.Popen(self.command, env=env, pass_fds=fds)
        worker = self.workers[index] = _Worker(index, process, time.monotonic())
        return worker

    def _reap(self) -> str | None:
        for index, worker in list(self.workers.items()):
            code = worker.process.poll()
            if code is None or worker is self.candidate:
                continue
            del self.workers[index]
            if worker.ready:
                error_logger.warning(
                    "Worker %s (pid %s) %s; starting a new one", index, worker.process.pid, _exit_reason(code)
                )
                self._spawn(index)
                continue
            if self.watcher is not None:
                error_logger.error(
                    "Worker %s (pid %s) %s before serving; waiting for a file change",
                    index,
                    worker.process.pid,
                    _exit_reason(code),
                )
                continue
            self.failed_starts += 1
            if self.failed_starts >= MAX_FAILED_STARTS:
                return f"workers keep failing to start (the last one {_exit_reason(code)})"
            error_logger.warning(
                "Worker %s (pid %s) %s before serving; trying again",
                index,
                worker.process.pid,
                _exit_reason(code),
            )
            self._spawn(index)
        return None

    def _reload(self, changed: set[str]) -> None:
        shown = ", ".join(sorted(os.path.relpath(path) for path in changed)[:3])
        logger.info("Reloading: %s changed", shown + (" ..." if len(changed) > 3 else ""))
        self._terminate(signal.SIGTERM)
        if self.stop_signal is None:
            for index in range(self.count):
                self._spawn(index)

    def _terminate(self, signum: int) -> None:
        """Pass *signum* to every worker and wait for them; kill those still running after the grace time."""
        alive = [w for w in (*self.workers.values(), *self.retiring) if w.process.poll() is None]
        for worker in alive:
            _signal(worker.process, signum)
        deadline = time.monotonic() + self.stop_time(signum)
        # Another SIGINT/SIGTERM while stopping means "now"; while reloading, the first one only stops.
        patience = self.signals_seen + (1 if self.stop_signal is None else 0)
        while alive:
            alive = [w for w in alive if w.process.poll() is None]
            if not alive:
                break
            if time.monotonic() > deadline or self.signals_seen > patience:
                for worker in alive:
                    error_logger.warning(
                        "Worker %s (pid %s) did not stop in time; killing it",
                        worker.index,
                        worker.process.pid,
                    )
                    _signal(worker.process, signal.SIGKILL)
                for worker in alive:
                    worker.process.wait()
                break
            self._wait(0.1)
        self.workers.clear()
        self.retiring.clear()

    def stop_time(self, signum: int) -> float:
        """How long a worker sent *signum* may take to stop before it is killed."""
        drain = self.drain_delay if signum == signal.SIGTERM else 0.0
        return drain + self.graceful_timeout + KILL_GRACE


def _signal(process: subprocess.Popen[bytes], signum: int) -> None:
    try:
        process.send_signal(signum)
    except OSError as exc:  # already gone
        if exc.errno != errno.ESRCH:
            raise
