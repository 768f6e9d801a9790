"""Running an app: `Server` (one event loop's listening server) and `serve` (one process, or a supervisor
of several workers), with listeners, signals, graceful shutdown and the start-up banner."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import ssl as _ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import uvloop
from pydantic import ValidationError
from pynecktie import lifecycle
from pynecktie.config import describe_error

from . import drain as drain_steps
from . import logs, tls
from .__about__ import __version__
from .errors import StartupError
from .metering import meter
from .metrics_workers import prepare_worker_dir
from .settings import ServerSettings
from .sockets import bind_tcp, bind_unix, describe, reserve_port, reuse_port_available
from .workers import Supervisor, WorkerSpec, default_command

if TYPE_CHECKING:
    from pynecktie import Necktie
    from pynecktie.metrics import HttpStats

    from .cycle import Cycle
    from .protocol import HttpProtocol

logger = logging.getLogger("necktie.root")


class Connection(Protocol):
    """What the server asks of an open connection (an HTTP one, or the WebSocket that took one over)."""

    @property
    def transport(self) -> asyncio.Transport | None:
        """The connection's transport (None before it is made)."""

    def shutdown(self) -> None:
        """Close now if idle, else after what is in progress (graceful shutdown)."""

    def drain(self) -> None:
        """No more keep-alive: answers not begun yet say ``Connection: close`` (`necktie_server.drain`)."""


@dataclass(eq=False)
class ServerState:
    """What every connection of one server shares."""

    app: Necktie
    settings: ServerSettings
    loop: asyncio.AbstractEventLoop
    connections: set[Connection] = field(default_factory=set)
    draining: bool = False  # from the drain's start: no more keep-alive
    stopping: bool = False  # from the listener's close: new connections are answered 503
    access_log: Callable[[Cycle], None] | None = None
    stats: HttpStats | None = None  # METRICS_PATH: each response is counted there (`metering`)


class Server:
    """A started server: ``await start()``, then ``await stop()`` for a graceful shutdown."""

    def __init__(
        self,
        app: Necktie,
        host: str | None = "127.0.0.1",
        port: int = 8000,
        *,
        sock: socket.socket | None = None,
        ssl: _ssl.SSLContext | None = None,
        unix: str | None = None,
        backlog: int = 1024,
        access_log: bool | None = None,
        exclusive: bool | None = None,
    ) -> None:
        """*exclusive*: this process alone listens on *sock* (default: True when the server binds its own
        socket), so the drain may close it quietly (`necktie_server.drain.close_listener`)."""
        self.app = app
        self.exclusive = sock is None if exclusive is None else exclusive
        self.host = host
        self.port = port
        self.sock = sock
        self.ssl = ssl
        self.unix = unix
        self.backlog = backlog
        if access_log is None:  # one server in one process: on unless the config turned it off
            access_log = app.config.ACCESS_LOG is not False
        self.access_log = access_log
        self.state: ServerState | None = None
        self.server: asyncio.base_events.Server | None = None

    @property
    def sockets(self) -> list[socket.socket]:
        """The listening sockets (after ``start``)."""
        return list(self.server.sockets) if self.server else []

    @property
    def bound_port(self) -> int:
        """The port actually bound (useful with port 0)."""
        port: int = self.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        """Run the app's start-up sequence (`pynecktie.lifecycle`) around starting to listen."""
        from .accesslog import access_logger
        from .protocol import HttpProtocol

        loop = asyncio.get_running_loop()
        app = self.app
        settings = ServerSettings.from_config(app.config)
        if settings.http2 is not None:
            tls.offer_http2(self.ssl)
        self.state = state = ServerState(
            app,
            settings,
            loop,
            access_log=access_logger() if self.access_log else None,
        )

        def factory() -> HttpProtocol:
            return HttpProtocol(state)

        async def listen() -> None:
            meter(state)  # METRICS_PATH (the app is finalized by now)
            self.server = await self._listen(loop, factory)

        await lifecycle.start(app, loop, listen)

    async def _listen(self, loop: asyncio.AbstractEventLoop, factory: Callable[[], HttpProtocol]) -> Any:
        """Start accepting connections made by *factory* (necktie-testing overrides this for memory)."""
        if self.sock is not None and self.sock.family == socket.AF_UNIX:
            return await loop.create_unix_server(factory, sock=self.sock, ssl=self.ssl, backlog=self.backlog)
        if self.unix:
            return await loop.create_unix_server(factory, self.unix, ssl=self.ssl, backlog=self.backlog)
        if self.sock is not None:
            return await loop.create_server(factory, sock=self.sock, ssl=self.ssl, backlog=self.backlog)
        return await loop.create_server(
            factory, self.host, self.port, ssl=self.ssl, backlog=self.backlog, reuse_address=True
        )

    async def stop(self, drain_delay: float = 0.0, hurry: asyncio.Event | None = None) -> None:
        """Drain, then run the app's shut-down sequence (`pynecktie.lifecycle`) around the graceful part:
        readiness 503 and ``Connection: close`` at once, *drain_delay* seconds still accepting (less once
        *hurry* is set), stop accepting, let in-flight requests finish within
        ``GRACEFUL_SHUTDOWN_TIMEOUT``, close the rest (`necktie_server.drain` tells the whole story)."""
        state, server = self.state, self.server
        if state is None or server is None:
            return
        drain_steps.begin(state)
        await drain_steps.wait_delay(drain_delay, hurry)

        async def drain() -> None:
            await drain_steps.close_listener(server, self.sock, self.exclusive)
            state.stopping = True
            for conn in list(state.connections):
                conn.shutdown()
            deadline = state.loop.time() + self.app.config.GRACEFUL_SHUTDOWN_TIMEOUT
            while state.connections and state.loop.time() < deadline:
                await asyncio.sleep(0.05)
            for conn in list(state.connections):
                if conn.transport is not None:
                    conn.transport.abort()
            await asyncio.sleep(0)

        await lifecycle.stop(self.app, state.loop, drain)


def banner(app: Necktie, address: str, workers: int, reload: bool) -> str:
    """The start-up line: what is served where, by how many processes, in which mode."""
    mode = "debug" if app.config.DEBUG else "production"
    if reload:
        mode += " + reload"
    plural = "s" if workers != 1 else ""
    return f"Necktie {__version__} serving {app.name} at {address} ({workers} worker{plural}, {mode} mode)"


def _apply_options(app: Necktie, **options: Any) -> None:
    """Copy the given run options into ``app.config``, where pydantic validates them."""
    for name, value in options.items():
        if value is None:
            continue
        try:
            setattr(app.config, name, value)
        except ValidationError as exc:
            raise StartupError(f"invalid setting {describe_error(exc)}") from None


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def serve(
    app: Necktie,
    host: str | None = "127.0.0.1",
    port: int = 8000,
    *,
    unix: str | None = None,
    sock: socket.socket | None = None,
    ssl: _ssl.SSLContext | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    http2: bool | None = None,
    workers: int | None = None,
    fast: bool = False,
    access_log: bool | None = None,
    debug: bool | None = None,
    reload: bool = False,
    reload_dirs: list[str] | None = None,
    backlog: int | None = None,
    command: list[str] | None = None,
) -> None:
    """Serve *app* until SIGINT or SIGTERM, then shut down gracefully and return.

    The options are those of the ``necktie`` command; unset ones come from ``app.config`` (``WORKERS``,
    ``ACCESS_LOG``, ``TLS_CERT``, ``HTTP2``...). One worker runs in this process; several (or ``reload``)
    run as child processes of this one, which supervises them and runs the ``main_process_*`` listeners.
    *command* starts a worker (default: this interpreter's own command line, run again).
    Problems the user must fix raise `StartupError`.
    """
    if workers is not None and fast:
        raise StartupError("give either workers or fast, not both")
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise StartupError(f"invalid port {port!r}: give a number from 0 to 65535")
    _apply_options(
        app,
        DEBUG=True if reload and debug is None else debug,
        WORKERS=_cpu_count() if fast else workers,
        ACCESS_LOG=access_log,
        BACKLOG=backlog,
        TLS_CERT=tls_cert,
        TLS_KEY=tls_key,
        HTTP2=http2,
    )
    config = app.config
    logs.configure(config.DEBUG, json=config.LOG_FORMAT == "json")
    context = tls.resolve(ssl, config.TLS_CERT, config.TLS_KEY)
    if config.HTTP2:
        tls.offer_http2(context)  # (before any worker starts: a missing h2 is one clear error)
    count = config.WORKERS
    access = config.ACCESS_LOG if config.ACCESS_LOG is not None else count == 1
    spec = WorkerSpec.from_environ()
    if spec is not None:
        _run_worker(app, spec, context, access)
    elif count == 1 and not reload:
        listener = sock or (
            bind_unix(unix, backlog=config.BACKLOG) if unix else bind_tcp(host, port, backlog=config.BACKLOG)
        )
        _run_single(app, listener, context, access, host, unix if sock is None else None, owned=sock is None)
    else:
        _run_supervisor(
            app, host, port, unix, sock, context, count, reload, reload_dirs, command or default_command()
        )


def _address(sock: socket.socket, host: str | None, unix: str | None, tls_on: bool) -> str:
    if sock.family == socket.AF_UNIX:
        return describe(None, 0, unix or str(sock.getsockname()))
    return describe(host if host else sock.getsockname()[0], sock.getsockname()[1], None, tls_on)


def _run_single(
    app: Necktie,
    sock: socket.socket,
    context: _ssl.SSLContext | None,
    access: bool,
    host: str | None,
    unix: str | None,
    owned: bool,
) -> None:
    server = Server(
        app, sock=sock, ssl=context, access_log=access, backlog=app.config.BACKLOG, exclusive=owned
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = drain_steps.StopSignals(loop)  # in place before anyone is told the server is up
        await app.dispatch("main_process_start", loop)
        await server.start()
        logger.info(banner(app, _address(sock, host, unix, context is not None), 1, False))
        await stop.wait()
        delay = stop.drain_delay(app.config.DRAIN_DELAY)
        logger.info("Shutting down" + (f" (draining for {delay:g} s first)" if delay else ""))
        await server.stop(delay, stop.hurry)
        await app.dispatch("main_process_stop", loop)

    try:
        uvloop.run(main())
    finally:
        if owned:
            _close(sock, unix)


def _run_worker(app: Necktie, spec: WorkerSpec, context: _ssl.SSLContext | None, access: bool) -> None:
    sock = spec.listening_socket(app.config.BACKLOG)
    # A worker that binds its own SO_REUSEPORT socket holds it alone; an inherited one is shared.
    exclusive = spec.fd is None
    server = Server(
        app, sock=sock, ssl=context, access_log=access, backlog=app.config.BACKLOG, exclusive=exclusive
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = drain_steps.StopSignals(loop, hangup_hint=False)  # SIGHUP is for the supervisor

        def watch_parent() -> None:
            if spec.orphaned():
                logger.warning("Worker %s: the supervisor is gone; stopping", spec.index)
                stop.signal(signal.SIGINT)
            else:
                loop.call_later(1.0, watch_parent)

        await server.start()
        spec.announce_ready()
        watch_parent()
        await stop.wait()
        await server.stop(stop.drain_delay(app.config.DRAIN_DELAY), stop.hurry)

    uvloop.run(main())
    sock.close()


def _run_supervisor(
    app: Necktie,
    host: str | None,
    port: int,
    unix: str | None,
    sock: socket.socket | None,
    context: _ssl.SSLContext | None,
    count: int,
    reload: bool,
    reload_dirs: list[str] | None,
    command: list[str],
) -> None:
    from .reload import Watcher

    watcher = Watcher(reload_dirs or [os.getcwd()]) if reload else None
    backlog = app.config.BACKLOG
    if sock is None and unix:
        sock = bind_unix(unix, backlog=backlog)
    if sock is None and reuse_port_available():
        # Reserve the port (and learn it, for port 0) without listening: each worker binds its own.
        reserved = reserve_port(host, port)
        shared_fd = None
    else:
        reserved = sock or bind_tcp(host, port, backlog=backlog)
        shared_fd = reserved.fileno()
    address = _address(reserved, host, unix, context is not None)
    events = ("main_process_start", "reload_process_start") if reload else ("main_process_start",)
    uvloop.run(_dispatch(app, events))
    prepare_worker_dir(app)  # METRICS_PATH: where the workers' counts meet, emptied
    supervisor = Supervisor(
        command,
        count,
        shared_fd=shared_fd,
        host=host,
        port=reserved.getsockname()[1] if shared_fd is None else 0,
        graceful_timeout=app.config.GRACEFUL_SHUTDOWN_TIMEOUT,
        drain_delay=app.config.DRAIN_DELAY,
        watcher=watcher,
        on_ready=lambda: logger.info(banner(app, address, count, reload)),
    )
    try:
        failure = supervisor.run()
        logger.info("Stopped")
        uvloop.run(
            _dispatch(app, ("reload_process_stop", "main_process_stop") if reload else ("main_process_stop",))
        )
    finally:
        _close(reserved, unix)
    if failure:
        raise StartupError(failure)


async def _dispatch(app: Necktie, events: tuple[str, ...]) -> None:
    for event in events:
        await app.dispatch(event)


def _close(sock: socket.socket, unix: str | None) -> None:
    sock.close()
    if unix:
        with contextlib.suppress(OSError):
            os.unlink(unix)
