"""A real necktie-server on an ephemeral loopback port, running in a background thread."""

from __future__ import annotations

import asyncio
import ssl as _ssl
import weakref
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from necktie_server import Server
from pynecktie import Necktie

from ._loop import LoopThread
from .streams import SocketStream

if TYPE_CHECKING:
    from .raw import RawConnection

T = TypeVar("T")


class LiveServer:
    """Serve *app* on ``host``:0 in a thread of its own until ``stop()`` (or the ``with`` block ends).

    Startup and shutdown listeners run around it, as under ``app.run()``. One server can serve many
    clients and tests in turn (see the pytest plugin's ``necktie_server`` fixture).
    """

    def __init__(self, app: Necktie, host: str = "127.0.0.1", **server_options: Any) -> None:
        self.app = app
        self.host = host
        self.server_options = server_options
        self.server: Server | None = None
        self.port = 0
        self._thread: LoopThread | None = None
        # Client connections opened on the server's own loop (TestClient's): aborted when it stops, so
        # that the loop never closes under a connection a test left open.
        self._own_loop_clients: weakref.WeakSet[SocketStream] = weakref.WeakSet()

    @property
    def tls(self) -> bool:
        """True when the server was given an ``ssl`` context."""
        return self.server_options.get("ssl") is not None

    @property
    def url(self) -> str:
        """The base URL, such as ``http://127.0.0.1:41234`` (``https`` with TLS)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The server's event loop (None before ``start``)."""
        return self._thread.loop if self._thread is not None else None

    @property
    def started(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return self._thread is not None

    def start(self, timeout: float = 10.0) -> LiveServer:
        """Start serving (a no-op when already started); returns once the port accepts connections."""
        if self._thread is not None:
            return self
        self._thread = LoopThread(f"necktie-live-{self.app.name}")
        try:
            self._thread.call(self._start, timeout)
        except BaseException:
            self._thread.stop()
            self._thread = None
            raise
        return self

    async def _start(self) -> None:
        self.server = Server(self.app, self.host, 0, **self.server_options)
        await self.server.start()
        self.port = self.server.bound_port

    def call(self, fn: Callable[[], Coroutine[Any, Any, T]], timeout: float | None = 10.0) -> T:
        """Run a coroutine function on the server's loop and return its result."""
        if self._thread is None:
            raise RuntimeError("the live server is not started")
        return self._thread.call(fn, timeout)

    async def connect(self, ssl: _ssl.SSLContext | None = None) -> SocketStream:
        """A new connection to the server, on the running loop (any loop, any thread).

        A TLS server is reached over TLS: with *ssl* when given, else trusting whatever certificate the
        server shows (it is the test's own server).
        """
        if self.tls and ssl is None:
            ssl = _ssl.create_default_context()
            ssl.check_hostname = False
            ssl.verify_mode = _ssl.CERT_NONE
        stream = await SocketStream.connect(self.host, self.port, ssl=ssl if self.tls else None)
        if asyncio.get_running_loop() is self.loop:
            self._own_loop_clients.add(stream)
        return stream

    def raw(self, timeout: float = 10.0) -> RawConnection:
        """A wire-level connection to the server (see `necktie_testing.raw.RawConnection`)."""
        from .raw import RawConnection

        return RawConnection(self.host, self.port, timeout=timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Shut the server down gracefully (shutdown listeners included) and wait for its thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        try:
            if self.server is not None:
                thread.call(self.server.stop, timeout)
        finally:
            try:
                thread.call(self._abort_clients, timeout)
            finally:
                thread.stop(timeout)

    async def _abort_clients(self) -> None:
        for stream in list(self._own_loop_clients):
            stream.abort()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
