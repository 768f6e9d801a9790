"""Running an app: the event loop, listeners, signals and graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import ssl as _ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import uvloop

from .settings import ServerSettings

if TYPE_CHECKING:
    from pynecktie import Necktie

    from .cycle import Cycle
    from .protocol import HttpProtocol

logger = logging.getLogger("necktie.root")


@dataclass(eq=False)
class ServerState:
    """What every connection of one server shares."""

    app: Necktie
    settings: ServerSettings
    loop: asyncio.AbstractEventLoop
    connections: set[HttpProtocol] = field(default_factory=set)
    stopping: bool = False
    access_log: Callable[[Cycle], None] | None = None


class Server:
    """A started server: ``await start()``, then ``await stop()`` for a graceful shutdown."""

    def __init__(self, app: Necktie, host: str | None = "127.0.0.1", port: int = 8000, *,
                 sock: socket.socket | None = None, ssl: _ssl.SSLContext | None = None,
                 unix: str | None = None, backlog: int = 1024, access_log: bool | None = None) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.sock = sock
        self.ssl = ssl
        self.unix = unix
        self.backlog = backlog
        self.access_log = app.config.ACCESS_LOG if access_log is None else access_log
        self.state: ServerState | None = None
        self.server: asyncio.base_events.Server | None = None

    @property
    def sockets(self) -> list[socket.socket]:
        """The listening sockets (after ``start``)."""
        return list(self.server.sockets) if self.server else []

    @property
    def bound_port(self) -> int:
        """The port actually bound (useful with port 0)."""
        return self.sockets[0].getsockname()[1]  # type: ignore[no-any-return]

    async def start(self) -> None:
        """Run ``before_server_start`` listeners, start listening, then ``after_server_start``."""
        from .accesslog import access_logger
        from .protocol import HttpProtocol

        loop = asyncio.get_running_loop()
        app = self.app
        app.finalize()
        self.state = state = ServerState(app, ServerSettings.from_config(app.config), loop,
                                         access_log=access_logger() if self.access_log else None)
        await app.dispatch("before_server_start", loop)

        def factory() -> HttpProtocol:
            return HttpProtocol(state)

        if self.unix:
            self.server = await loop.create_unix_server(factory, self.unix, sock=self.sock, ssl=self.ssl,
                                                        backlog=self.backlog)
        elif self.sock is not None:
            self.server = await loop.create_server(factory, sock=self.sock, ssl=self.ssl, backlog=self.backlog)
        else:
            self.server = await loop.create_server(factory, self.host, self.port, ssl=self.ssl,
                                                   backlog=self.backlog, reuse_address=True)
        await app.dispatch("after_server_start", loop)

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish within ``GRACEFUL_SHUTDOWN_TIMEOUT``, close the rest."""
        if self.state is None or self.server is None:
            return
        state = self.state
        await self.app.dispatch("before_server_stop", state.loop)
        state.stopping = True
        self.server.close()
        for conn in list(state.connections):
            conn.shutdown()
        deadline = state.loop.time() + self.app.config.GRACEFUL_SHUTDOWN_TIMEOUT
        while state.connections and state.loop.time() < deadline:
            await asyncio.sleep(0.05)
        for conn in list(state.connections):
            if conn.transport is not None:
                conn.transport.abort()
        await asyncio.sleep(0)
        await self.app.dispatch("after_server_stop", state.loop)


def _addr(host: str | None, port: int, unix: str | None, tls: bool) -> str:
    if unix:
        return f"unix:{unix}"
    scheme = "https" if tls else "http"
    shown = f"[{host}]" if host and ":" in host else host
    return f"{scheme}://{shown}:{port}"


def serve(app: Necktie, host: str | None = "127.0.0.1", port: int = 8000, *, ssl: _ssl.SSLContext | None = None,
          unix: str | None = None, sock: socket.socket | None = None, access_log: bool | None = None,
          debug: bool | None = None, **unused: Any) -> None:
    """Serve *app* on uvloop until SIGINT or SIGTERM, then shut down gracefully (exit status 0)."""
    if unused:
        raise TypeError(f"unknown option(s) for run(): {', '.join(sorted(unused))}")
    if debug is not None:
        app.config.DEBUG = debug
    if not logging.getLogger().handlers and not logger.handlers:
        logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(levelname)s %(name)s: %(message)s",
                            stream=sys.stderr)
    server = Server(app, host, port, sock=sock, ssl=ssl, unix=unix, access_log=access_log)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await server.start()
        logger.info("Necktie %s serving %s (1 worker, %s mode)", app.name,
                    _addr(host, server.bound_port if not unix else 0, unix, ssl is not None),
                    "debug" if app.config.DEBUG else "production")
        await stop.wait()
        logger.info("Shutting down")
        await server.stop()

    uvloop.run(main())
