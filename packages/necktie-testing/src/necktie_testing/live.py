"""A real necktie-server on an ephemeral loopback port, running in a background thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import uvloop

from necktie_server import Server
from pynecktie import Necktie

T = TypeVar("T")


class LiveServer:
    """Serve *app* on ``host``:0 in a thread of its own until ``stop()`` (or the ``with`` block ends).

    Startup and shutdown listeners run around it, as under ``app.run()``.
    """

    def __init__(self, app: Necktie, host: str = "127.0.0.1", **server_options: Any) -> None:
        self.app = app
        self.host = host
        self.server_options = server_options
        self.loop: asyncio.AbstractEventLoop | None = None
        self.server: Server | None = None
        self.port = 0
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """The base URL, such as ``http://127.0.0.1:41234``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> LiveServer:
        """Start serving; returns once the port accepts connections."""
        self._thread = threading.Thread(target=self._main, name=f"necktie-live-{self.app.name}", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the live server did not start in time")
        if self._error is not None:
            raise self._error
        return self

    def _main(self) -> None:
        uvloop.run(self._serve())

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        self.server = Server(self.app, self.host, 0, **self.server_options)
        try:
            await self.server.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self.port = self.server.bound_port
        self._ready.set()
        await self._stopped.wait()
        await self.server.stop()

    def call(self, fn: Callable[[], Coroutine[Any, Any, T]], timeout: float = 10.0) -> T:
        """Run a coroutine function on the server's loop and return its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(fn(), self.loop).result(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Shut the server down gracefully and wait for its thread."""
        if self.loop is not None and self._stopped is not None and self._thread is not None:
            self.loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(timeout)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
