"""A Necktie app as an ASGI 3 application: the translation between ASGI messages and the one request pipeline.

``Necktie.__call__`` lands in `run_asgi`, which picks the handler of the scope's type from `SCOPE_HANDLERS`:

- ``http``: builds a `Request` from the scope, routes it, and runs ``app.handle`` in a task of its own with
  an `AsgiBody` and an `AsgiSink` (see `asgi_streams`);
- ``lifespan``: runs the app's server listeners on startup and shutdown;
- ``websocket``: websocket routes (`asgi_websocket`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from time import perf_counter
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from . import lifecycle
from .asgi_streams import AsgiBody, AsgiSink, Receive, Send
from .body_limit import refuse_at_head
from .cors import add_cors_headers
from .errorpages import render_error
from .exceptions import PayloadTooLarge
from .metrics import stats_of
from .request import ConnInfo, Request

if TYPE_CHECKING:
    from .app import Necktie

__all__ = ["SCOPE_HANDLERS", "ResponseAborted", "request_from_scope", "run_asgi"]

error_logger = logging.getLogger("necktie.error")

_PATH_SAFE = "/:@!$&'()*+,;=-._~"  # RFC 3986 pchar and "/": kept as is when re-encoding a decoded path

ScopeHandler = Callable[["Necktie", dict[str, Any], Receive, Send], Awaitable[None]]


class ResponseAborted(Exception):
    """Raised to the ASGI server when a started response cannot be finished, so it drops the connection."""


async def run_asgi(app: Necktie, scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Serve one ASGI *scope* of *app*."""
    handler = SCOPE_HANDLERS.get(scope["type"])
    if handler is None:
        raise ValueError(f"unsupported ASGI scope type {scope['type']!r}")
    await handler(app, scope, receive, send)


# -- http ---------------------------------------------------------------------------------------------


def request_from_scope(app: Necktie, scope: dict[str, Any]) -> Request:
    """A `Request` for an ASGI ``http`` (or ``websocket``) scope."""
    raw_path = scope.get("raw_path") or quote(scope.get("path", "/"), safe=_PATH_SAFE).encode("ascii")
    query = scope.get("query_string") or b""
    target = raw_path + b"?" + query if query else raw_path
    headers = scope.get("headers") or []
    if not isinstance(headers, list):
        headers = list(headers)
    client = scope.get("client") or ("", 0)
    server = scope.get("server") or ("", 0)
    conn_info = ConnInfo(
        client_ip=str(client[0] or ""),
        client_port=int(client[1] or 0),  # some servers give ports as str
        server_ip=str(server[0] or ""),
        server_port=int(server[1] or 0),
        ssl=scope.get("scheme") in ("https", "wss"),
    )
    method, version = scope.get("method", "GET"), scope.get("http_version", "1.1")
    return Request(app, method, target, version, headers, conn_info)


async def http(app: Necktie, scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Serve one ``http`` scope through ``app.handle`` (counted when ``METRICS_PATH`` is set)."""
    request = request_from_scope(app, scope)
    app.match(request)  # request.route
    sink = AsgiSink(send, is_head=request.method == "HEAD")
    stats = stats_of(app)
    if stats is None:
        await _answer(app, request, receive, sink)
        return
    began = perf_counter()
    stats.begun += 1
    exchange = None
    try:
        exchange = await _answer(app, request, receive, sink)
    finally:
        stats.ended += 1
        cut = exchange is not None and exchange.lost and sink.started and not sink.complete
        stats.finished(request, sink.status, sink.body_sent, began, cut)


async def _answer(app: Necktie, request: Request, receive: Receive, sink: AsgiSink) -> _Exchange | None:
    """Answer *request*: refused at its head when its declared body is too large, else by the pipeline."""
    length = _declared_length(request.raw_headers)
    try:
        refuse_at_head(request.route, length, app.body_limit(request.route))
    except PayloadTooLarge as exc:
        response = render_error(request, exc, app.config.DEBUG)
        add_cors_headers(request, response)
        await sink.send(response, response.body)
        return None
    exchange = _Exchange(app, request, receive, sink, length)
    await exchange.run()
    return exchange


class _Exchange:
    """One request running in its own task, watched for the client's disconnect.

    ASGI only reports a disconnect through ``receive``, which belongs to the handler while it reads the
    body. So the adapter calls ``receive`` itself (`AsgiBody.prefetch`) only while the handler is not
    inside it and either the body has ended or a streamed response is under way: body chunks taken that
    way wait for the handler's next ``get()`` (at most ``REQUEST_BUFFER_SIZE`` bytes, then it stops), and
    ``http.disconnect`` cancels the handler's task, as necktie-server does when a connection is lost.
    """

    __slots__ = ("app", "request", "declared", "sink", "body", "task", "waiter", "lost")

    def __init__(
        self, app: Necktie, request: Request, receive: Receive, sink: AsgiSink, declared: int | None
    ) -> None:
        self.app = app
        self.request = request
        self.declared = declared
        self.sink = sink
        self.body = AsgiBody(
            receive, app.config.REQUEST_BUFFER_SIZE, self._wake, self._disconnected, self._handler_idle
        )
        sink.on_lost = self._disconnected
        sink.on_start = self._wake
        if request.headers.get("expect", "").lower() == "100-continue":
            sink.before_start = self._continue_first
        self.task: asyncio.Task[None] | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.lost = False

    async def run(self) -> None:
        request, sink, body = self.request, self.sink, self.body
        request.stream = self.app.make_stream(request, body, self.declared)
        loop = asyncio.get_running_loop()
        # A task of the request's own, with its own copy of the context, as under necktie-server.
        task = self.task = loop.create_task(self.app.handle(request, sink))
        task.add_done_callback(self._wake)
        try:
            while not task.done():
                if body.lost:
                    if not sink.complete:
                        self._disconnected()
                elif (body.complete or sink.started) and not sink.complete and body.can_prefetch:
                    body.prefetch().add_done_callback(self._wake)
                self.waiter = loop.create_future()
                await self.waiter
        finally:
            pending = body.pending
            if pending is not None and not pending.done():
                pending.cancel()
            if not task.done():  # this coroutine itself was cancelled by the ASGI server
                self._disconnected()
                await asyncio.wait((task,))
            sink.close()  # stops a pump an aborted response left behind
        error = None if task.cancelled() else task.exception()
        if self.lost:
            return
        if error is not None:
            raise error  # a BaseException the pipeline let through
        if not sink.complete:
            raise ResponseAborted("the response could not be finished")

    async def _continue_first(self) -> None:
        """A streamed response is starting before the handler asked for the body the client holds back
        for ``100 Continue``: ask the ASGI server for it first (uvicorn sends the 100 on the first
        ``receive()``, never once the response has started), as necktie-server sends the 100 before such a
        head. Not when the declared length will be refused."""
        body, stream = self.body, self.request.stream
        if body.asked or body.complete or not body.can_prefetch or (stream and stream.refuses_declared):
            return
        body.prefetch().add_done_callback(self._wake)
        await asyncio.sleep(0)  # the prefetch reaches receive() before the start message goes out

    def _handler_idle(self) -> None:
        """The handler left ``receive``: listen for it if its response is streaming."""
        if self.sink.started:
            self._wake()

    def _disconnected(self) -> None:
        """The client went away: stop sending and cancel the handler's task."""
        if self.lost:
            return
        self.lost = True
        self.sink.close()
        task = self.task
        if task is not None and not task.done():
            task.cancel()

    def _wake(self, *_: object) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _declared_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            value = value.strip()
            return int(value) if value.isdigit() else None
    return None


# -- lifespan -----------------------------------------------------------------------------------------


async def lifespan(app: Necktie, scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Run the app's start-up sequence on ``lifespan.startup`` and its shut-down one on ``lifespan.shutdown``
    (`pynecktie.lifecycle`; the ASGI server listens in between).

    A failing listener is reported as ``lifespan.startup.failed`` (or ``shutdown.failed``) with its message.
    """
    while True:
        message = await receive()
        kind = message.get("type")
        if kind == "lifespan.startup":
            if not await _run_phase("startup", lifecycle.start(app), send):
                return
        elif kind == "lifespan.shutdown":
            await _run_phase("shutdown", lifecycle.stop(app), send)
            return


async def _run_phase(phase: str, sequence: Awaitable[None], send: Send) -> bool:
    try:
        await sequence
    except Exception as exc:
        error_logger.error("A %s listener failed", phase, exc_info=exc)
        await send({"type": f"lifespan.{phase}.failed", "message": lifecycle.describe_failure(exc)})
        return False
    await send({"type": f"lifespan.{phase}.complete"})
    return True


# -- websocket ----------------------------------------------------------------------------------------


async def websocket(app: Necktie, scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Serve one ``websocket`` scope: websocket routes, as under necktie-server (see `asgi_websocket`)."""
    from .asgi_websocket import serve_websocket

    await serve_websocket(app, scope, receive, send)


SCOPE_HANDLERS: dict[str, ScopeHandler] = {"http": http, "lifespan": lifespan, "websocket": websocket}
"""The coroutine serving each ASGI scope type; websocket support replaces the ``websocket`` entry."""
