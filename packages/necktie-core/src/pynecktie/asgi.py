"""A Necktie app as an ASGI 3 application: the translation between ASGI messages and the one request pipeline.

``Necktie.__call__`` lands in `run_asgi`, which picks the handler of the scope's type from `SCOPE_HANDLERS`:

- ``http``: builds a `Request` from the scope, routes it, and runs ``app.handle`` in a task of its own with
  an `AsgiBody` and an `AsgiSink` (see `asgi_streams`);
- ``lifespan``: runs the app's server listeners on startup and shutdown;
- ``websocket``: a hook, refusing the handshake until websocket support fills it in.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .asgi_streams import AsgiBody, AsgiSink, Message, Receive, Send
from .errorpages import render_error
from .exceptions import PayloadTooLarge
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
        client_ip=str(client[0] or ""), client_port=int(client[1] or 0),  # some servers give ports as str
        server_ip=str(server[0] or ""), server_port=int(server[1] or 0),
        ssl=scope.get("scheme") in ("https", "wss"),
    )
    method, version = scope.get("method", "GET"), scope.get("http_version", "1.1")
    return Request(app, method, target, version, headers, conn_info)


async def http(app: Necktie, scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Serve one ``http`` scope through ``app.handle``."""
    request = request_from_scope(app, scope)
    route = app.match(request)
    sink = AsgiSink(send, is_head=request.method == "HEAD")
    limit = app.body_limit(route)
    if limit is not None:
        length = _declared_length(request.raw_headers)
        if length is not None and length > limit:
            exc = PayloadTooLarge(f"Request body of {length} bytes exceeds the limit of {limit}")
            response = render_error(request, exc, app.config.DEBUG)
            await sink.send(response, response.body)
            return
    await _Exchange(app, request, receive, sink).run()


class _Exchange:
    """One request running in its own task, watched for the client's disconnect.

    The body is pulled by the handler only; once it has ended (and only then, since nothing else may
    call ``receive`` meanwhile) a listener waits on ``receive`` for ``http.disconnect`` and cancels the
    handler's task, as necktie-server does when a connection is lost.
    """

    __slots__ = ("app", "request", "receive", "sink", "body", "task", "listener", "waiter", "lost")

    def __init__(self, app: Necktie, request: Request, receive: Receive, sink: AsgiSink) -> None:
        self.app = app
        self.request = request
        self.receive = receive
        self.sink = sink
        self.body = AsgiBody(receive, self._wake, self._disconnected)
        sink.on_lost = self._disconnected
        self.task: asyncio.Task[None] | None = None
        self.listener: asyncio.Task[Message] | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.lost = False

    async def run(self) -> None:
        request, sink, body = self.request, self.sink, self.body
        request.stream = self.app.make_stream(request, body)
        loop = asyncio.get_running_loop()
        # A task of the request's own, with its own copy of the context, as under necktie-server.
        task = self.task = loop.create_task(self.app.handle(request, sink))
        task.add_done_callback(self._wake)
        try:
            while not task.done():
                if body.ended and self.listener is None and not self.lost:
                    self.listener = loop.create_task(_awaited(self.receive))
                    self.listener.add_done_callback(self._wake)
                self.waiter = loop.create_future()
                await self.waiter
                listener = self.listener
                if listener is not None and listener.done() and not task.done():
                    self._heard(listener)
        finally:
            listener = self.listener
            if listener is not None:
                if not listener.done():
                    listener.cancel()
                elif not listener.cancelled():
                    listener.exception()  # retrieved: a receive() that failed late is no one's error
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

    def _heard(self, listener: asyncio.Task[Message]) -> None:
        """The listener got a message while the handler runs: a disconnect, or something to ignore.

        Some servers also report ``http.disconnect`` once the response is complete; that one is not a loss.
        """
        if listener.cancelled():
            return
        exc = listener.exception()
        if exc is not None or listener.result().get("type") == "http.disconnect":
            if not self.sink.complete:
                self._disconnected()
            return
        self.listener = None  # anything else after the body (servers should send nothing): listen again

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


async def _awaited(receive: Receive) -> Message:
    # ASGI servers may hand out awaitables that are not coroutines (granian does); a task needs a coroutine.
    return await receive()


def _declared_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            value = value.strip()
            return int(value) if value.isdigit() else None
    return None


# -- lifespan -----------------------------------------------------------------------------------------

async def lifespan(app: Necktie, scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Run the server listeners: ``before/after_server_start`` on startup, ``before/after_server_stop`` after.

    A failing listener is reported as ``lifespan.startup.failed`` (or ``shutdown.failed``) with its message.
    """
    while True:
        message = await receive()
        kind = message.get("type")
        if kind == "lifespan.startup":
            if not await _run_listeners(app, "startup", ("before_server_start", "after_server_start"), send):
                return
        elif kind == "lifespan.shutdown":
            await _run_listeners(app, "shutdown", ("before_server_stop", "after_server_stop"), send)
            return


async def _run_listeners(app: Necktie, phase: str, events: tuple[str, str], send: Send) -> bool:
    try:
        if phase == "startup":
            app.finalize()
        for event in events:
            await app.dispatch(event)
    except Exception as exc:
        error_logger.error("A %s listener failed", phase, exc_info=exc)
        text = "".join(traceback.format_exception_only(exc)).strip()
        await send({"type": f"lifespan.{phase}.failed", "message": text})
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
