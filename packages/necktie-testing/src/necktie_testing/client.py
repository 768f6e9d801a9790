"""`TestClient` and `AsyncTestClient`: httpx clients wired to a Necktie app, streaming both ways.

``mode="live"`` (the default) serves the app with the real server on an ephemeral 127.0.0.1 port in a
background thread; ``mode="memory"`` drives the same server protocol over an in-memory transport. The
app's listeners run when the client starts (entering ``with``, or the first request) and when it closes.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

import httpx
from pynecktie import Necktie

from ._loop import LoopThread
from .capture import LogCapture
from .duplex import AsyncDuplex, Duplex
from .live import LiveServer
from .memory import InProcessServer
from .streams import ByteStream
from .transport import AsyncSource, StreamingTransport, SyncStreamingTransport, ThreadedSource
from .websocket import AsyncWebSocketSession, WebSocketSession

Mode = Literal["live", "memory"]
T = TypeVar("T")
DEFAULT_TIMEOUT = 30.0
BASE_URL = "http://testserver"
TLS_BASE_URL = "https://testserver"


def _is_async_iterable(content: Any) -> bool:
    return hasattr(content, "__aiter__")


def _is_sync_iterable(content: Any) -> bool:
    return (
        hasattr(content, "__iter__")
        and not _is_async_iterable(content)
        and not isinstance(content, (bytes, bytearray, memoryview, str))
    )


def _chunked(request: httpx.Request, stream: Any) -> httpx.Request:
    request.stream = stream
    if "content-length" in request.headers:
        del request.headers["content-length"]
    request.headers["transfer-encoding"] = "chunked"
    return request


class _ClientSetup:
    """What `TestClient` and `AsyncTestClient` check and keep from their common options."""

    def _configure(
        self,
        app: Necktie,
        mode: Mode,
        server: LiveServer | None,
        base_url: str,
        log_level: int | None,
        kwargs: dict[str, Any],
    ) -> str:
        """Validate the options, keep them on the client, and return the base URL to use."""
        if mode not in ("live", "memory"):
            raise ValueError(f"mode must be 'live' or 'memory', not {mode!r}")
        if server is not None and mode != "live":
            raise ValueError("server= is for mode='live'")
        self.app = app
        self.mode = mode
        if base_url == BASE_URL and server is not None and server.tls:
            base_url = TLS_BASE_URL
        self.client_ssl = kwargs.pop("verify", None)
        if self.client_ssl is not None and not isinstance(self.client_ssl, ssl.SSLContext):
            raise TypeError("verify= takes an ssl.SSLContext (for a LiveServer started with ssl=)")
        self.capture = LogCapture(log_level)
        self.live = server if mode == "live" else None
        self._owns_live = server is None
        self._memory: InProcessServer | None = None
        self._started = False
        self._stopped = False
        return base_url

    @property
    def server_log(self) -> list[str]:
        """Every server log line captured while this client was started, as ``LEVEL logger: message``."""
        return self.capture.lines

    def _websocket(
        self,
        base_url: httpx.URL,
        url: str,
        options: dict[str, Any],
        default_timeout: float | None,
        before: Callable[[], Any] | None = None,
    ) -> AsyncWebSocketSession:
        """A websocket session to *url* (relative to *base_url*) over this client's connections."""
        target = base_url.join(url)
        target = target.copy_with(scheme="wss" if target.scheme == "https" else "ws")
        options.setdefault("timeout", default_timeout)
        return AsyncWebSocketSession(self._connect, str(target), before=before, **options)

    async def _connect(self) -> ByteStream:
        if self._memory is not None:
            return self._memory.connect()
        assert self.live is not None
        return await self.live.connect(self.client_ssl)


class TestClient(_ClientSetup, httpx.Client):
    """A sync httpx client for *app*: ``with TestClient(app) as client: client.get("/")``.

    Request bodies may be bytes, str, or a sync or async iterable of chunks (sent chunked, each chunk as it
    is produced); ``client.stream(...)`` hands the response body over as it arrives; ``client.duplex(...)``
    interleaves sending the body and reading the answer. Pass ``server=`` to share a started `LiveServer`.

    A `LiveServer` started with ``ssl=`` is reached over TLS (``verify=`` an `ssl.SSLContext` to check its
    certificate; without it the client trusts its own server). ``raise_handler_exceptions=True`` re-raises
    in the test the exception the server logged for a request once its body has been read; ``log_level``
    (e.g. ``logging.INFO`` for the access log) lowers the level of the ``necktie`` loggers while the
    client runs, so that more lines reach ``server_log``.
    """

    __test__ = False

    def __init__(
        self,
        app: Necktie,
        *,
        mode: Mode = "live",
        server: LiveServer | None = None,
        base_url: str = BASE_URL,
        timeout: Any = DEFAULT_TIMEOUT,
        raise_handler_exceptions: bool = False,
        log_level: int | None = None,
        **kwargs: Any,
    ) -> None:
        base_url = self._configure(app, mode, server, base_url, log_level, kwargs)
        self._portal: LoopThread | None = None
        self._async_transport = StreamingTransport(
            self._connect, self.capture, raise_handler_exceptions=raise_handler_exceptions
        )
        super().__init__(
            base_url=base_url,
            timeout=timeout,
            transport=SyncStreamingTransport(self._call, self._async_transport),
            **kwargs,
        )

    # -- lifetime -------------------------------------------------------------------------------------
    def start(self) -> TestClient:
        """Start the server (and run the startup listeners) unless already started."""
        if self._started:
            return self
        if self._stopped:
            raise RuntimeError("this TestClient was closed: make a new one")
        self.capture.install()
        if self.mode == "live":
            if self.live is None:
                self.live = LiveServer(self.app)
            self.live.start()
        else:
            self._portal = LoopThread(f"necktie-memory-{self.app.name}")
            self._memory = InProcessServer(self.app)
            self._portal.call(self._memory.start)
        self._started = True
        return self

    def stop(self) -> None:
        """Stop the server this client started (running the shutdown listeners)."""
        if not self._started:
            return
        self._started = False
        self._stopped = True
        try:
            if self.live is not None and self._owns_live:
                self.live.stop()
            if self._portal is not None:
                memory, portal = self._memory, self._portal
                self._portal = self._memory = None
                try:
                    if memory is not None:
                        portal.call(memory.stop, None)
                finally:
                    portal.stop()
        finally:
            self.capture.uninstall()

    def close(self) -> None:
        """Close the client and stop the server it started."""
        super().close()
        self.stop()

    def __enter__(self) -> TestClient:
        super().__enter__()
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        try:
            super().__exit__(*exc)
        finally:
            self.stop()

    # -- plumbing -------------------------------------------------------------------------------------
    def _call(self, fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
        self.start()
        if self._portal is not None:
            return self._portal.call(fn, None)
        assert self.live is not None
        return self.live.call(fn, None)

    def build_request(self, method: str, url: Any, *, content: Any = None, **kwargs: Any) -> httpx.Request:
        """As httpx's, and an async iterable *content* is streamed too (from the transport's loop)."""
        if content is not None and _is_async_iterable(content):
            return _chunked(super().build_request(method, url, **kwargs), AsyncSource(content))
        return super().build_request(method, url, content=content, **kwargs)

    def duplex(self, method: str, url: Any, **kwargs: Any) -> Duplex:
        """A request whose body the test sends piece by piece while reading the response (``with`` it)."""
        request = _chunked(self.build_request(method, url, **kwargs), None)
        return Duplex(self._call, AsyncDuplex(self._async_transport, request))

    def websocket(self, url: str, **options: Any) -> WebSocketSession:
        """A websocket to the route at *url*: ``with client.websocket("/feed") as ws: ws.send_text(...)``.

        Options: ``subprotocols`` (offered, preferred first), ``headers`` (a list of ``(name, value)`` for
        the handshake request), ``compress`` (offer permessage-deflate), ``max_size`` (of a message the
        client accepts; default 1 MiB), ``timeout`` (each send and receive; the client's read timeout by
        default).
        """
        session = self._websocket(self.base_url, url, options, self.timeout.read)
        return WebSocketSession(self._call, session)


class AsyncTestClient(_ClientSetup, httpx.AsyncClient):
    """The async twin of `TestClient`: ``async with AsyncTestClient(app) as client: await client.get("/")``.

    In ``mode="memory"`` the app runs on the test's own event loop; in ``mode="live"`` on the server's
    thread, with the client's connections on the test's loop.
    """

    __test__ = False

    def __init__(
        self,
        app: Necktie,
        *,
        mode: Mode = "live",
        server: LiveServer | None = None,
        base_url: str = BASE_URL,
        timeout: Any = DEFAULT_TIMEOUT,
        raise_handler_exceptions: bool = False,
        log_level: int | None = None,
        **kwargs: Any,
    ) -> None:
        base_url = self._configure(app, mode, server, base_url, log_level, kwargs)
        self._transport_impl = StreamingTransport(
            self._connect, self.capture, before=self.start, raise_handler_exceptions=raise_handler_exceptions
        )
        super().__init__(base_url=base_url, timeout=timeout, transport=self._transport_impl, **kwargs)

    async def start(self) -> AsyncTestClient:
        """Start the server (and run the startup listeners) unless already started."""
        if self._started:
            return self
        if self._stopped:
            raise RuntimeError("this AsyncTestClient was closed: make a new one")
        self._started = True
        self.capture.install()
        try:
            if self.mode == "live":
                if self.live is None:
                    self.live = LiveServer(self.app)
                if not self.live.started:
                    await asyncio.to_thread(self.live.start)
            else:
                self._memory = InProcessServer(self.app)
                await self._memory.start()
        except BaseException:
            self._started = False
            self.capture.uninstall()
            raise
        return self

    async def stop(self) -> None:
        """Stop the server this client started (running the shutdown listeners)."""
        if not self._started:
            return
        self._started = False
        self._stopped = True
        try:
            if self.live is not None and self._owns_live:
                await asyncio.to_thread(self.live.stop)
            if self._memory is not None:
                memory, self._memory = self._memory, None
                await memory.stop()
        finally:
            self.capture.uninstall()

    async def aclose(self) -> None:
        """Close the client and stop the server it started."""
        await super().aclose()
        await self.stop()

    async def __aenter__(self) -> AsyncTestClient:
        await super().__aenter__()
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await super().__aexit__(*exc)
        finally:
            await self.stop()

    def build_request(self, method: str, url: Any, *, content: Any = None, **kwargs: Any) -> httpx.Request:
        """As httpx's, and a sync iterable *content* is streamed too (each chunk pulled in a thread)."""
        if content is not None and _is_sync_iterable(content):
            return _chunked(super().build_request(method, url, **kwargs), ThreadedSource(content))
        return super().build_request(method, url, content=content, **kwargs)

    def duplex(self, method: str, url: Any, **kwargs: Any) -> AsyncDuplex:
        """A request whose body the test sends piece by piece while reading the response (``async with``)."""
        request = _chunked(self.build_request(method, url, **kwargs), None)
        return AsyncDuplex(self._transport_impl, request)

    def websocket(self, url: str, **options: Any) -> AsyncWebSocketSession:
        """A websocket to the route at *url*: ``async with client.websocket("/feed") as ws: ...``.

        Options: ``subprotocols`` (offered, preferred first), ``headers`` (a list of ``(name, value)`` for
        the handshake request), ``compress`` (offer permessage-deflate), ``max_size`` (of a message the
        client accepts; default 1 MiB), ``timeout`` (each send and receive; the client's read timeout by
        default).
        """
        return self._websocket(self.base_url, url, options, self.timeout.read, before=self.start)


__all__ = ["AsyncTestClient", "Mode", "TestClient"]
