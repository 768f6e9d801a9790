"""WebSockets, the carrier-independent part: the connection API handlers see and the upgrade pipeline.

A websocket route is registered with ``@app.websocket(uri)`` and handled by ``async def feed(request, ws)``.
The carrier (necktie-server, the ASGI adapter) recognises the upgrade request, builds the `Request`, and
calls `serve` with an `Upgrade` of its own: request middleware runs first (a response it returns is sent
instead of upgrading), then the carrier completes the handshake and hands over a `WebSocket`, the
interface every carrier implements. The protocol itself (framing, masking, close handshake) is the
carrier's business; nothing here does I/O.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .exceptions import ConnectionClosed, NecktieException
from .metrics import stats_of

if TYPE_CHECKING:
    from .app import Necktie
    from .request import Request
    from .response import BaseHTTPResponse

error_logger = logging.getLogger("necktie.error")

Message = str | bytes

# Close codes (RFC 6455 section 7.4.1) a handler is most likely to meet.
NORMAL_CLOSURE = 1000
GOING_AWAY = 1001
PROTOCOL_ERROR = 1002
ABNORMAL_CLOSURE = 1006
INVALID_DATA = 1007
MESSAGE_TOO_BIG = 1009
INTERNAL_ERROR = 1011


class WebSocketClosed(ConnectionClosed):
    """The websocket is closed: raised by ``recv`` and ``send``; ``code`` and ``reason`` say how it ended.

    ``code`` is the code of the client's close frame when it sent one, else the one the server closed with
    (1009 for an over-size message, 1002 for a protocol error, 1011 for a dead peer, 1001 at shutdown),
    else 1006 (the connection dropped without a close frame).
    """

    def __init__(self, code: int = ABNORMAL_CLOSURE, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"websocket closed with code {code}" + (f" ({reason})" if reason else ""))


class UpgradeRequired(NecktieException):
    """426: a plain HTTP request reached a websocket route."""

    status_code = 426
    quiet = True

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message or "This URL serves WebSocket connections only",
            headers={"Upgrade": "websocket", "Connection": "Upgrade"},
        )


class WebSocket(ABC):
    """One open WebSocket connection, as a handler sees it. Carriers implement the abstract methods.

    ``await ws.send(text_or_bytes)`` sends one message and waits while the client reads too slowly;
    ``await ws.recv()`` returns the next message (``str`` for text, ``bytes`` for binary);
    ``async for message in ws`` iterates until the connection closes; ``await ws.close(code, reason)``
    runs the closing handshake; ``ws.subprotocol`` is the negotiated subprotocol or ``None``.
    """

    @property
    @abstractmethod
    def subprotocol(self) -> str | None:
        """The subprotocol agreed on in the handshake, or ``None``."""

    @property
    @abstractmethod
    def closed(self) -> bool:
        """True once no more messages can be sent."""

    @property
    @abstractmethod
    def close_code(self) -> int | None:
        """How the connection ended (see `WebSocketClosed.code`), or ``None`` while it is open."""

    @property
    @abstractmethod
    def close_reason(self) -> str | None:
        """The reason that went with `close_code`, or ``None`` while the connection is open."""

    @abstractmethod
    async def send(self, message: Message) -> None:
        """Send *message*: ``str`` as a text message, bytes-like as a binary one.

        Waits while the carrier's write buffer is full; raises `WebSocketClosed` once the connection closed.
        """

    @abstractmethod
    async def receive(self) -> Message:
        """The next message; raises `WebSocketClosed` once there will be none (what ``recv`` builds on)."""

    @abstractmethod
    async def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the closing handshake with *code* and *reason* and wait (bounded) for it to finish.

        `ValueError` (see `check_close`) for a code a server may not send or a reason over 123 bytes.
        """

    async def recv(self, timeout: float | None = None, *, none_on_close: bool = False) -> Message | None:
        """The next message, waiting at most *timeout* seconds (``TimeoutError`` after that).

        When the connection is closed it raises `WebSocketClosed`, or returns ``None`` with
        ``none_on_close=True`` (for ``while (msg := await ws.recv(none_on_close=True)) is not None`` loops).
        """
        try:
            if timeout is None:
                return await self.receive()
            async with asyncio.timeout(timeout):
                return await self.receive()
        except WebSocketClosed:
            if none_on_close:
                return None
            raise

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Message]:
        while True:
            try:
                message = await self.receive()
            except WebSocketClosed:
                return
            yield message


class Upgrade(Protocol):
    """What a carrier hands to `serve` for one upgrade request."""

    async def accept(self, subprotocols: Sequence[str]) -> WebSocket | None:
        """Complete the handshake, choosing among *subprotocols* with `select_subprotocol`.

        Returns the open `WebSocket`, or ``None`` when the handshake was refused (the carrier answered it,
        e.g. 400 for a missing ``Sec-WebSocket-Key``) or the client is gone.
        """
        ...

    async def reject(self, response: BaseHTTPResponse) -> None:
        """Answer the upgrade request with a plain HTTP *response* instead (middleware or error)."""
        ...


class WebSocketEndpoint:
    """What a websocket route registers: the handler, and a 426 answer for plain HTTP requests.

    Carriers that upgrade call `serve`, which calls ``handler(request, ws, **params)``; a request that was
    not an upgrade reaches ``__call__`` through the normal HTTP pipeline and gets 426 Upgrade Required.
    """

    def __init__(self, handler: Callable[..., Any], subprotocols: Sequence[str] = ()) -> None:
        self.handler = handler
        self.subprotocols = tuple(subprotocols)
        functools.update_wrapper(self, handler)

    def __call__(self, request: Request, **params: Any) -> Any:
        """Reached only by a request that was not an upgrade: 426 Upgrade Required."""
        raise UpgradeRequired()


def check_close(code: int, reason: str) -> None:
    """Raise `ValueError` unless a server may close with *code* and *reason* (RFC 6455 section 7.4).

    The codes: 1000-1003, 1007-1014 and 3000-4999 (1004 is reserved; 1005, 1006 and 1015 only report
    what happened and never go on the wire). The reason shares the close frame's 125 bytes with the code:
    at most 123 bytes of UTF-8.
    """
    if not (1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999):
        raise ValueError(f"{code} is not a close code a server may send")
    if len(reason) > 30 and len(reason.encode()) > 123:  # 30 characters are at most 120 bytes
        raise ValueError("a close reason is at most 123 bytes of UTF-8")


def select_subprotocol(offered: Sequence[str], supported: Sequence[str]) -> str | None:
    """The first of the route's *supported* subprotocols that the client *offered*, or ``None``."""
    for name in supported:
        if name in offered:
            return name
    return None


def endpoint_of(request: Request) -> WebSocketEndpoint | None:
    """The websocket endpoint *request* was routed to, or ``None`` for any other route."""
    route = request.route
    if route is None or not route.websocket or not isinstance(route.handler, WebSocketEndpoint):
        return None
    return route.handler


async def serve(app: Necktie, request: Request, upgrade: Upgrade) -> None:
    """Run one websocket request: request middleware, the handshake, the handler, the close.

    A handler that returns closes with 1000; one that raises is logged and closes with 1011; one that ends
    because the connection closed (`ConnectionClosed`) ends quietly.
    """
    endpoint = endpoint_of(request)
    assert endpoint is not None, "serve() is for requests routed to a websocket route"
    route = request.route
    assert route is not None
    try:
        for mw in route.request_middleware:
            result = mw(request)
            if inspect.isawaitable(result):
                result = await result
            if result is not None:
                await _reject(app, request, route.response_middleware, result, upgrade)
                return
    except Exception as exc:
        response = await app._error_response(request, exc)
        await _reject(app, request, route.response_middleware, response, upgrade)
        return
    ws = await upgrade.accept(endpoint.subprotocols)
    if ws is None:
        return
    stats = stats_of(app)  # METRICS_PATH: the open websockets
    if stats is not None:
        stats.websockets += 1
    try:
        await endpoint.handler(request, ws, **request.match_info)
    except ConnectionClosed:
        pass
    except Exception as exc:
        error_logger.error(
            "Exception in websocket handler for %r", request.target.decode("latin-1"), exc_info=exc
        )
        await ws.close(INTERNAL_ERROR, "handler error")
        return
    finally:
        if stats is not None:
            stats.websockets -= 1
    await ws.close(NORMAL_CLOSURE)


async def _reject(
    app: Necktie,
    request: Request,
    response_mw: tuple[Callable[..., Any], ...],
    response: BaseHTTPResponse,
    upgrade: Upgrade,
) -> None:
    try:
        for mw in response_mw:
            result = mw(request, response)
            if inspect.isawaitable(result):
                result = await result
            if result is not None:
                response = result
    except Exception as exc:
        response = await app._error_response(request, exc)
    await upgrade.reject(response)
