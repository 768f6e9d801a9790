"""WebSocket routes under any ASGI server: the ``websocket`` scope carried to `pynecktie.websocket.serve`.

The ASGI server does the protocol (framing, pings, permessage-deflate: its own settings apply there), and
delivers whole messages; this module translates its messages to the `WebSocket` API, so the same handler
runs here and under necktie-server. Of the ``WEBSOCKET_*`` limits, the message size is enforced here too:
a message over ``WEBSOCKET_MAX_SIZE`` closes the connection with 1009 as under necktie-server (the server
has buffered it by then, within its own limit; fragments are never seen, so their count is the server's).
A refused upgrade (middleware response, no such route) is sent as an HTTP response where the server offers
the ``websocket.http.response`` extension, else as a close before accept (which the server turns into a 403).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .asgi import request_from_scope
from .asgi_streams import complete_head
from .errorpages import render_error
from .exceptions import NotFound
from .heads import Stage
from .response import BaseHTTPResponse, HTTPResponse
from .websocket import (
    ABNORMAL_CLOSURE,
    MESSAGE_TOO_BIG,
    NORMAL_CLOSURE,
    Message,
    WebSocket,
    WebSocketClosed,
    check_close,
    endpoint_of,
    select_subprotocol,
    serve,
)

if TYPE_CHECKING:
    from .app import Necktie
    from .asgi_streams import Receive, Send

NO_STATUS = 1005  # what ASGI servers report when the client's close frame carried no code


async def serve_websocket(app: Necktie, scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Serve one ASGI ``websocket`` *scope* of *app*."""
    message = await receive()
    if message.get("type") != "websocket.connect":
        return  # the client left before the handshake
    request = request_from_scope(app, scope)
    upgrade = AsgiUpgrade(scope, receive, send, app.config.WEBSOCKET_MAX_SIZE)
    route = app.match(request)
    if route is None or endpoint_of(request) is None:
        error = request.match_info.get("__error__") if route is None else None
        await upgrade.reject(render_error(request, error or NotFound(), app.config.DEBUG))
        return
    await serve(app, request, upgrade)


class AsgiUpgrade:
    """The `pynecktie.websocket.Upgrade` of one ASGI ``websocket`` scope."""

    def __init__(self, scope: dict[str, Any], receive: Receive, send: Send, max_size: int = 0) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send
        self.max_size = max_size

    async def accept(self, subprotocols: Sequence[str]) -> WebSocket | None:
        """Accept the handshake with the subprotocol chosen among the client's offers."""
        chosen = select_subprotocol(self.scope.get("subprotocols") or (), subprotocols)
        await self.send({"type": "websocket.accept", "subprotocol": chosen})
        return AsgiWebSocket(self.receive, self.send, chosen, self.max_size)

    async def reject(self, response: BaseHTTPResponse) -> None:
        """Refuse with *response* (its status and headers; a streamed body is not sent)."""
        if "websocket.http.response" not in (self.scope.get("extensions") or {}):
            await self.send({"type": "websocket.close", "code": 1008, "reason": ""})
            return
        body = response.body if isinstance(response, HTTPResponse) else b""
        status, headers, body = complete_head(Stage.IDLE, response, body)  # the same head rules as HTTP
        await self.send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await self.send({"type": "websocket.http.response.body", "body": body})


class AsgiWebSocket(WebSocket):
    """An accepted websocket over ASGI messages; a message over *max_size* bytes (0: no limit) closes it."""

    def __init__(self, receive: Receive, send: Send, subprotocol: str | None, max_size: int = 0) -> None:
        self._receive = receive
        self._send = send
        self._subprotocol = subprotocol
        self._max_size = max_size
        self._close: tuple[int, str] | None = None

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol agreed on in the handshake, or ``None``."""
        return self._subprotocol

    @property
    def closed(self) -> bool:
        """True once either side closed."""
        return self._close is not None

    @property
    def close_code(self) -> int | None:
        """The client's close code (1005 if it gave none, 1006 if it vanished), the server's, or ``None``."""
        return None if self._close is None else self._close[0]

    @property
    def close_reason(self) -> str | None:
        """The reason that came with `close_code`, or ``None`` while open."""
        return None if self._close is None else self._close[1]

    async def send(self, message: Message) -> None:
        """Send one message; the ASGI server's ``send`` provides the back-pressure."""
        if self._close is not None:
            raise WebSocketClosed(*self._close)
        event: dict[str, str | bytes]
        if isinstance(message, str):
            event = {"type": "websocket.send", "text": message}
        elif isinstance(message, (bytes, bytearray, memoryview)):
            event = {"type": "websocket.send", "bytes": bytes(message)}
        else:
            raise TypeError(f"a websocket message is str or bytes, not {type(message).__name__}")
        try:
            await self._send(event)
        except OSError as exc:  # how servers report a connection already gone (uvicorn: ClientDisconnected)
            self._close = (ABNORMAL_CLOSURE, "")
            raise WebSocketClosed(ABNORMAL_CLOSURE) from exc

    async def receive(self) -> Message:
        """The next message, or `WebSocketClosed` once the client closed or vanished (or sent too much)."""
        if self._close is not None:
            raise WebSocketClosed(*self._close)
        while True:
            event = await self._receive()
            kind = event.get("type")
            if kind == "websocket.receive":
                text = event.get("text")
                message: Message = text if text is not None else event.get("bytes") or b""
                if self._max_size and _over(message, self._max_size):
                    reason = f"message over {self._max_size} bytes"
                    await self.close(MESSAGE_TOO_BIG, reason)
                    raise WebSocketClosed(MESSAGE_TOO_BIG, reason)
                return message
            if kind == "websocket.disconnect":
                self._close = (int(event.get("code") or NO_STATUS), str(event.get("reason") or ""))
                raise WebSocketClosed(*self._close)

    async def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Close with *code* and *reason* (the server runs the closing handshake)."""
        check_close(code, reason)
        if self._close is not None:
            return
        self._close = (code, reason)
        try:
            await self._send({"type": "websocket.close", "code": code, "reason": reason})
        except OSError:
            pass


def _over(message: Message, limit: int) -> bool:
    """Whether *message* is over *limit* bytes on the wire (text counted as UTF-8, encoded only if needed)."""
    size = len(message)
    if isinstance(message, bytes) or size > limit or message.isascii():
        return size > limit
    return size * 4 > limit and len(message.encode()) > limit
