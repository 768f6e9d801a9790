"""WebSocket connections: the `websockets` package's sans-I/O server protocol, driven by the transport.

`take_over` is called by the HTTP protocol when httptools stops at an ``Upgrade`` request. If the request
was routed to a websocket route, the request's task runs `pynecktie.websocket.serve` with a `ServerUpgrade`:
middleware first (its response goes out over the HTTP cycle as usual), then the handshake, answered by
``ServerProtocol.accept`` (400 for a missing key or a wrong version, 426 for a bad ``Upgrade``), and on 101
the transport is handed to a `WebSocketConnection`, which from then on is its protocol. Framing, masking,
control frames, permessage-deflate and the close handshake are the `websockets` package's; messages are put
together (size and fragment limits, UTF-8) by `ws_messages`; this module moves bytes, keeps flow control
both ways, pings, and times the closing.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pynecktie.errorpages import render_error
from pynecktie.exceptions import BadRequest, ServiceUnavailable
from pynecktie.request import Request
from pynecktie.response import BaseHTTPResponse, HTTPResponse
from pynecktie.websocket import (
    ABNORMAL_CLOSURE,
    GOING_AWAY,
    INTERNAL_ERROR,
    NORMAL_CLOSURE,
    Message,
    WebSocket,
    WebSocketClosed,
    check_close,
    endpoint_of,
    select_subprotocol,
    serve,
)
from websockets.datastructures import Headers as WsHeaders
from websockets.exceptions import InvalidHeader
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse
from websockets.protocol import State
from websockets.server import ServerProtocol

from .cycle import Cycle, Stage
from .ws_messages import MessageAssembler, MessageError

if TYPE_CHECKING:
    from .protocol import HttpProtocol

error_logger = logging.getLogger("necktie.error")

# Incoming flow control: stop reading while this much received data waits for the handler, or while the
# write buffer is full (the client's pings would otherwise queue pongs for a client that reads nothing).
READ_HIGH = 1 << 20
READ_HIGH_MESSAGES = 64
# Received data is handed to the `websockets` parser at most this much at a time; what is left of a read
# when the backlog fills waits as bytes (see _feed).
FEED_SLICE = 1 << 14


def take_over(http: HttpProtocol, rest: bytes) -> bool:
    """Run the upgrade request httptools just stopped at as a websocket, if it was routed to one.

    *rest* is what the client sent after the request head. Returns False (and changes nothing) for an
    upgrade the server does not serve: then the HTTP protocol answers and closes as before.
    """
    if len(http.cycles) != 1:
        return False  # pipelined behind other requests: not worth the complication
    cycle = http.cycles[0]
    request = cycle.request
    if request is None or cycle.error is not None or not cycle.complete or endpoint_of(request) is None:
        return False
    if cycle.task is not None:
        # on_message_complete created the HTTP task a moment ago, in this same callback: it has not run yet.
        cycle.task.cancel()
    http.rejected = True
    http._pause_reading()
    cycle.keep_alive = False
    upgrade = ServerUpgrade(http, cycle, request, rest)
    cycle.task = http.loop.create_task(upgrade.run(), context=http._context.copy())
    return True


class ServerUpgrade:
    """One upgrade request on necktie-server: the `pynecktie.websocket.Upgrade` that `serve` drives."""

    def __init__(self, http: HttpProtocol, cycle: Cycle, request: Request, rest: bytes) -> None:
        self.http = http
        self.cycle = cycle
        self.request = request
        self.rest = rest
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
            await self.http.app._send(self.request, response, self.cycle)

    async def accept(self, subprotocols: Sequence[str]) -> WebSocket | None:
        """Validate the handshake; on success send 101 and hand the transport to a `WebSocketConnection`."""
        http, cycle, request = self.http, self.cycle, self.request
        if http.closed or cycle.stage is not Stage.IDLE:
            return None
        if http.state.stopping:
            await self.reject(render_error(request, ServiceUnavailable("Server is shutting down"), False))
            return None
        config = http.app.config
        supported = tuple(subprotocols)
        protocol = ServerProtocol(
            extensions=[ServerPerMessageDeflateFactory()] if config.WEBSOCKET_PERMESSAGE_DEFLATE else None,
            select_subprotocol=lambda _, offered: select_subprotocol(offered, supported),
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
        transport = http.transport
        assert transport is not None
        ws = self.ws = WebSocketConnection(
            http,
            protocol,
            asyncio.current_task(),
            MessageAssembler(config.WEBSOCKET_MAX_SIZE, config.WEBSOCKET_MAX_FRAGMENTS),
            ping_interval=config.WEBSOCKET_PING_INTERVAL,
            ping_timeout=config.WEBSOCKET_PING_TIMEOUT,
            close_timeout=config.WEBSOCKET_CLOSE_TIMEOUT,
        )
        # The HTTP side is done with this connection: log the 101 and hand everything over.
        cycle.status = 101
        cycle.stage = Stage.DONE
        http.cycles.clear()
        if http.state.access_log is not None:
            http.state.access_log(cycle)
        http.deadline.cancel()
        http.write_deadline.cancel()
        http.closed = True
        http.state.connections.discard(http)
        http.state.connections.add(ws)  # type: ignore[arg-type]
        transport.set_protocol(ws)
        ws.start(self.rest)
        return ws


class WebSocketConnection(WebSocket, asyncio.Protocol):
    """An open websocket: the transport's protocol after the handshake, and the ``ws`` a handler gets."""

    def __init__(
        self,
        http: HttpProtocol,
        protocol: ServerProtocol,
        task: asyncio.Task[Any] | None,
        messages: MessageAssembler,
        *,
        ping_interval: float,
        ping_timeout: float,
        close_timeout: float,
    ) -> None:
        self.protocol = protocol
        self.transport = http.transport
        self.loop = http.loop
        self.state = http.state
        self.task = task
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.close_timeout = close_timeout
        self.write_paused = http.write_paused
        self.read_paused = True  # the HTTP protocol paused reading at the upgrade
        self.lost = False
        self._messages: deque[tuple[Message, int]] = deque()
        self._queued = 0
        self._assembler = messages
        self._failed = False  # a message was refused: the frames parsed behind it are not delivered
        self._held = b""  # received, not parsed yet: there was a backlog (see _feed)
        self._recv_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._lost_waiter: asyncio.Future[None] = self.loop.create_future()
        self._waiting = 0  # how many calls are suspended in recv/send/close (see connection_lost)
        self._ping_payload: bytes | None = None
        self._ping_handle: asyncio.TimerHandle | None = None
        self._pong_handle: asyncio.TimerHandle | None = None
        self._abort_handle: asyncio.TimerHandle | None = None

    def start(self, rest: bytes) -> None:
        """Send the 101 response, take in what arrived after the request head, and start reading."""
        self._flush()
        if rest:
            self.data_received(rest)
        self._read_more()
        self._schedule_ping()

    # -- the handler's API ----------------------------------------------------------------------------
    @property
    def subprotocol(self) -> str | None:
        """The subprotocol agreed on in the handshake, or ``None``."""
        return self.protocol.subprotocol

    @property
    def closed(self) -> bool:
        """True once the closing handshake started or the connection dropped."""
        return self.lost or self.protocol.state is not State.OPEN

    @property
    def close_code(self) -> int | None:
        """How the connection ended (see `pynecktie.websocket.WebSocketClosed`), or ``None`` while open."""
        return self._close_info()[0] if self.closed else None

    @property
    def close_reason(self) -> str | None:
        """The reason that came with `close_code`, or ``None`` while open."""
        return self._close_info()[1] if self.closed else None

    async def send(self, message: Message) -> None:
        """Send one message (``str`` as text, bytes-like as binary); waits while the client reads slowly."""
        if self.closed:
            raise self._closed_error()
        if isinstance(message, str):
            self.protocol.send_text(message.encode())
        elif isinstance(message, (bytes, bytearray, memoryview)):
            self.protocol.send_binary(message)
        else:
            raise TypeError(f"a websocket message is str or bytes, not {type(message).__name__}")
        self._flush()
        if self.write_paused:
            await self._drain()

    async def receive(self) -> Message:
        """The next message; `WebSocketClosed` once the client can send no more."""
        while not self._messages:
            if self._inbound_done():
                raise self._closed_error()
            if self._recv_waiter is not None:
                raise RuntimeError("another task is already waiting in recv() on this websocket")
            self._recv_waiter = waiter = self.loop.create_future()
            self._waiting += 1
            try:
                await waiter
            finally:
                self._recv_waiter = None
                self._waiting -= 1
        message, size = self._messages.popleft()
        self._queued -= size
        if not self._messages:
            self._read_more()
        return message

    async def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Send a close frame and wait (at most ``WEBSOCKET_CLOSE_TIMEOUT``) for the connection to close."""
        check_close(code, reason)
        if not self.lost and self.protocol.state is State.OPEN:
            self.protocol.send_close(code, reason)
            self._flush()
            self._arm_abort()
        if not self.lost:
            self._waiting += 1
            try:
                await asyncio.shield(self._lost_waiter)
            finally:
                self._waiting -= 1

    # -- server lifecycle -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Graceful shutdown: close with 1001 (going away); the handler sees the close."""
        if not self.lost and self.protocol.state is State.OPEN:
            self.protocol.send_close(GOING_AWAY, "server shutting down")
            self._flush()
            self._arm_abort()

    # -- asyncio.Protocol -----------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:  # noqa: D102
        if self.lost or self.protocol.reader.eof:
            return
        self._feed(data)

    def eof_received(self) -> bool | None:  # noqa: D102
        if self._held and not self.protocol.reader.eof:
            self._feed(self._take_held(), hold=False)  # what came before the end, in order
        self.protocol.receive_eof()
        self._process()
        return None

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        self.lost = True
        self._held = b""
        self.state.connections.discard(self)  # type: ignore[arg-type]
        for handle in (self._ping_handle, self._pong_handle, self._abort_handle):
            if handle is not None:
                handle.cancel()
        self.protocol.receive_eof()
        self.protocol.data_to_send()
        if not self._lost_waiter.done():
            self._lost_waiter.set_result(None)
        self._wake()
        task = self.task
        if task is not None and not task.done() and not self._waiting:
            # The handler awaits something other than this websocket: it would never learn of the close.
            task.cancel()

    def pause_writing(self) -> None:  # noqa: D102
        self.write_paused = True

    def resume_writing(self) -> None:  # noqa: D102
        self.write_paused = False
        self._wake()
        self._read_more()

    # -- internals ------------------------------------------------------------------------------------
    def _feed(self, data: bytes, hold: bool = True) -> None:
        """Parse *data* a slice at a time; once there is a backlog, keep the rest (unparsed) and stop reading.

        The protocol parses every frame it is given at once: in slices, a read full of tiny frames becomes
        a few thousand objects at most, and what is held back is bytes, not messages or queued pongs.
        """
        if self._held:
            data = self._take_held() + data
        for start in range(0, len(data), FEED_SLICE):
            if hold and self._backlogged():
                self._held = data[start:]
                self._pause_reading()
                return
            self.protocol.receive_data(data[start : start + FEED_SLICE] if len(data) > FEED_SLICE else data)
            self._process()

    def _backlogged(self) -> bool:
        return self.write_paused or self._queued >= READ_HIGH or len(self._messages) >= READ_HIGH_MESSAGES

    def _read_more(self) -> None:
        """The backlog may be gone: parse what was held back, then read again unless it filled up again."""
        if self.lost or self._backlogged():
            return
        if self._held:
            self._feed(self._take_held())
        if not self._held and not self._backlogged():
            self._resume_reading()

    def _take_held(self) -> bytes:
        held, self._held = self._held, b""
        return held

    def _process(self) -> None:
        for frame in self.protocol.events_received():
            self._on_frame(frame)
        self._flush()
        if self._inbound_done():
            self._wake()

    def _on_frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY or opcode is Opcode.CONT:
            if self._failed:
                return
            try:
                message = self._assembler.feed(frame)
            except MessageError as exc:
                self._failed = True
                self.protocol.fail(exc.code, exc.reason)
                return
            if message is not None:
                self._deliver(message)
        elif opcode is Opcode.PONG:
            if self._ping_payload is not None and frame.data == self._ping_payload:
                self._ping_payload = None
                if self._pong_handle is not None:
                    self._pong_handle.cancel()
                    self._pong_handle = None
                self._schedule_ping()

    def _deliver(self, message: Message) -> None:
        size = len(message)  # characters for text: close enough for flow control
        self._messages.append((message, size))
        self._queued += size
        self._wake()

    def _flush(self) -> None:
        transport = self.transport
        for data in self.protocol.data_to_send():
            if self.lost or transport is None:
                continue
            if data:
                transport.write(data)
            else:
                # The protocol's end of stream: a server closes TCP first, once the close frame is out.
                transport.close()
                self._arm_abort()

    def _inbound_done(self) -> bool:
        protocol = self.protocol
        return self.lost or protocol.close_rcvd is not None or protocol.eof_sent

    def _close_info(self) -> tuple[int, str]:
        protocol = self.protocol
        close = protocol.close_rcvd or protocol.close_sent
        if close is None:
            return ABNORMAL_CLOSURE, ""
        return int(close.code), close.reason

    def _closed_error(self) -> WebSocketClosed:
        return WebSocketClosed(*self._close_info())

    async def _drain(self) -> None:
        self._waiting += 1
        try:
            while self.write_paused and not self.lost and not self.protocol.eof_sent:
                if self._drain_waiter is None or self._drain_waiter.done():
                    self._drain_waiter = self.loop.create_future()
                await asyncio.shield(self._drain_waiter)
        finally:
            self._waiting -= 1
        if self.write_paused:
            raise self._closed_error()

    def _wake(self) -> None:
        for waiter in (self._recv_waiter, self._drain_waiter):
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def _pause_reading(self) -> None:
        if not self.read_paused and not self.lost and self.transport is not None:
            self.read_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self.read_paused and not self.lost and self.transport is not None:
            self.read_paused = False
            self.transport.resume_reading()

    def _arm_abort(self) -> None:
        # However the closing went, the socket goes away after WEBSOCKET_CLOSE_TIMEOUT (say, a dead peer
        # whose unread data keeps transport.close() from ever finishing).
        if self._abort_handle is None and self.close_timeout and not self.lost:
            self._abort_handle = self.loop.call_later(self.close_timeout, self._abort)

    def _abort(self) -> None:
        if not self.lost and self.transport is not None:
            self.transport.abort()

    # -- keepalive ------------------------------------------------------------------------------------
    def _schedule_ping(self) -> None:
        if self.ping_interval and not self.lost:
            self._ping_handle = self.loop.call_later(self.ping_interval, self._ping)

    def _ping(self) -> None:
        self._ping_handle = None
        if self.lost or self.protocol.state is not State.OPEN:
            return
        self._ping_payload = os.urandom(4)
        self.protocol.send_ping(self._ping_payload)
        self._flush()
        if self.ping_timeout:
            self._pong_handle = self.loop.call_later(self.ping_timeout, self._ping_timed_out)
        else:
            self._ping_payload = None
            self._schedule_ping()

    def _ping_timed_out(self) -> None:
        self._pong_handle = None
        if self.lost:
            return
        error_logger.info(
            "Closing a websocket whose client did not answer a ping within %ss", self.ping_timeout
        )
        self.protocol.fail(INTERNAL_ERROR, "keepalive ping timeout")
        self._flush()
        self._wake()


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
    headers = [
        (k, v)
        for k, v in response.headers.raw_items()
        if k.lower() not in ("date", "connection", "content-length", "content-type")
    ]
    return HTTPResponse(response.body, response.status_code, headers, content_type)


class _QuietLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The `websockets` protocol logs every open and close at INFO: keep that at DEBUG."""

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.debug(msg, *args, **kwargs)


_quiet = _QuietLogger(logging.getLogger("necktie.websocket"), {})
