"""The WebSocket upgrade on necktie-server: from the HTTP request httptools stopped at to an open websocket.

`take_over` is called by the HTTP protocol when httptools stops at an ``Upgrade`` request. If the request
was routed to a websocket route, the request's task runs `pynecktie.websocket.serve` with a `ServerUpgrade`:
middleware first (its response goes out over the HTTP cycle as usual), then the handshake, answered by
``ServerProtocol.accept`` (400 for a missing key or a wrong version, 426 for a bad ``Upgrade``), and on 101
`HttpProtocol.hand_over` gives the transport, its `FlowControl` and the bytes read after the head to a
`necktie_server.websocket.WebSocketConnection`, which from then on is its protocol.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pynecktie.errorpages import render_error
from pynecktie.exceptions import BadRequest, ServiceUnavailable
from pynecktie.headers import Headers
from pynecktie.request import Request
from pynecktie.response import BaseHTTPResponse, HTTPResponse
from pynecktie.websocket import WebSocket, endpoint_of, select_subprotocol, serve
from websockets.datastructures import Headers as WsHeaders
from websockets.exceptions import InvalidHeader
from websockets.extensions.permessage_deflate import enable_server_permessage_deflate
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from .cycle import Cycle, Stage
from .websocket import WebSocketConnection
from .ws_messages import MessageAssembler

if TYPE_CHECKING:
    from .protocol import HttpProtocol


# permessage-deflate as the `websockets` package recommends it: 4 KiB windows and zlib's memLevel 5, some
# 60 KiB per connection (zlib's own defaults cost ~300 KiB: opening connections would be a cheap attack).
DEFLATE = enable_server_permessage_deflate(None)


def take_over(http: HttpProtocol, cycle: Cycle) -> bool:
    """Run *cycle*, the upgrade request httptools just stopped at, as a websocket if it was routed to one.

    Returns False (and changes nothing) for an upgrade the server does not serve.
    """
    request = cycle.request
    if request is None or cycle.error is not None or not cycle.complete or endpoint_of(request) is None:
        return False
    if cycle.task is not None:
        # on_message_complete created the HTTP task a moment ago, in this same callback: it has not run yet.
        cycle.task.cancel()
    cycle.keep_alive = False
    cycle.task = http.spawn(ServerUpgrade(http, cycle, request).run())
    return True


class ServerUpgrade:
    """One upgrade request on necktie-server: the `pynecktie.websocket.Upgrade` that `serve` drives."""

    def __init__(self, http: HttpProtocol, cycle: Cycle, request: Request) -> None:
        self.http = http
        self.cycle = cycle
        self.request = request
        self.ws: WebSocketConnection | None = None

    async def run(self) -> None:
        """The request's task: the websocket pipeline, with a 500 if it somehow ended without answering."""
        try:
            await serve(self.http.app, self.request, self)
        finally:
            if self.ws is None and self.cycle.stage is Stage.IDLE and not self.http.closed:
                response = render_error(self.request, RuntimeError("no response"), False)
                self.cycle.send_now(response, response.body)

    async def reject(self, response: BaseHTTPResponse) -> None:
        """Answer with a plain HTTP response over the request's cycle, then close."""
        if self.cycle.stage is Stage.IDLE and not self.http.closed:
            await self.http.app.send_response(self.request, response, self.cycle)

    async def accept(self, subprotocols: Sequence[str]) -> WebSocket | None:
        """Validate the handshake; on success send 101 and hand the transport to a `WebSocketConnection`."""
        http, cycle, request = self.http, self.cycle, self.request
        if http.closed or cycle.stage is not Stage.IDLE:
            return None
        if http.server.stopping:
            await self.reject(render_error(request, ServiceUnavailable("Server is shutting down"), False))
            return None
        config = http.app.config
        supported = tuple(subprotocols)

        def choose(_: ServerProtocol, offered: Sequence[Subprotocol]) -> Subprotocol | None:
            name = select_subprotocol(offered, supported)
            return None if name is None else Subprotocol(name)

        protocol = ServerProtocol(
            extensions=DEFLATE if config.WEBSOCKET_PERMESSAGE_DEFLATE else None,
            select_subprotocol=choose,
            max_size=config.WEBSOCKET_MAX_SIZE or None,
            logger=_quiet,
        )
        handshake = _handshake(protocol, request)
        if handshake is None:
            await self.reject(render_error(request, BadRequest("Invalid WebSocket handshake request"), False))
            return None
        response = protocol.accept(handshake)
        if response.status_code != 101:
            await self.reject(_http_response(response))
            return None
        protocol.send_response(response)
        ws = self.ws = WebSocketConnection(
            http.server,
            protocol,
            asyncio.current_task(),
            MessageAssembler(config.WEBSOCKET_MAX_SIZE, config.WEBSOCKET_MAX_FRAGMENTS),
            ping_interval=config.WEBSOCKET_PING_INTERVAL,
            ping_timeout=config.WEBSOCKET_PING_TIMEOUT,
            close_timeout=config.WEBSOCKET_CLOSE_TIMEOUT,
        )
        flow, rest = http.hand_over(cycle, ws)
        ws.start(flow, rest)
        return ws


def _handshake(protocol: ServerProtocol, request: Request) -> WsRequest | None:
    """The request as the `websockets` protocol's own parser sees it (the sans-I/O way in), or None.

    httptools already parsed the head; handing the protocol the same request re-serialized is what moves
    it from CONNECTING to reading frames once it accepts.
    """
    try:
        headers = WsHeaders()
        for name, value in request.raw_headers:
            headers[name.decode("latin-1")] = value.decode("latin-1")
        raw = WsRequest(
            request.target.decode("ascii"), headers, request.method, f"HTTP/{request.version}"
        ).serialize()
    except (ValueError, InvalidHeader):
        return None
    protocol.receive_data(raw)
    events = protocol.events_received()
    protocol.data_to_send()
    if len(events) != 1 or not isinstance(events[0], WsRequest):
        return None
    return events[0]


def _http_response(response: WsResponse) -> HTTPResponse:
    """The `websockets` package's refusal (400, 426...) as a Necktie response, framed by the HTTP cycle."""
    content_type = response.headers.get("Content-Type")
    headers = Headers(
        (k, v)
        for k, v in response.headers.raw_items()
        if k.lower() not in ("date", "connection", "content-length", "content-type")
    )
    return HTTPResponse(response.body, response.status_code, headers, content_type)


class _QuietLogger(logging.LoggerAdapter[logging.Logger]):
    """The `websockets` protocol logs every open and close at INFO: keep that at DEBUG."""

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.debug(msg, *args, **kwargs)


_quiet = _QuietLogger(logging.getLogger("necktie.websocket"), {})
