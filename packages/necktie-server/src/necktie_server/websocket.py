"""WebSocket connections: the `websockets` package's sans-I/O server protocol, driven by the transport.

`necktie_server.upgrade` takes an HTTP request routed to a websocket route through the handshake; on 101
`HttpProtocol.hand_over` gives the transport, its `FlowControl` and the bytes read after the head to a
`WebSocketConnection`, which from then on is its protocol. Framing, masking, control frames,
permessage-deflate and the close handshake are the `websockets` package's, except for whole plain data
frames, read and written here (`ws_frames` says why and which); messages are put together (size and
fragment limits, UTF-8) by `ws_messages`; keepalive pings are `ws_keepalive`'s; this module moves bytes,
keeps flow control both ways (with `FlowControl`), and times the closing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from pynecktie.websocket import (
    ABNORMAL_CLOSURE,
    GOING_AWAY,
    NORMAL_CLOSURE,
    Message,
    WebSocket,
    WebSocketClosed,
    check_close,
)
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

from . import ws_frames
from .flow_control import FlowControl
from .ws_keepalive import Keepalive
from .ws_messages import MessageAssembler, MessageError, whole_message

if TYPE_CHECKING:
    from .server import ServerState

error_logger = logging.getLogger("necktie.error")

# Incoming flow control: stop reading while this much received data waits for the handler, or while the
# write buffer is full (the client's pings would otherwise queue pongs for a client that reads nothing).
READ_HIGH = 1 << 20
READ_HIGH_MESSAGES = 64
# Received data is handed to the `websockets` parser at most this much at a time; what is left of a read
# when the backlog fills waits as bytes (see _feed).
FEED_SLICE = 1 << 14


class WebSocketConnection(WebSocket, asyncio.Protocol):
    """An open websocket: the transport's protocol after the handshake, and the ``ws`` a handler gets."""

    transport: asyncio.Transport | None = None  # set by start()
    flow: FlowControl

    def __init__(
        self,
        server: ServerState,
        protocol: ServerProtocol,
        task: asyncio.Task[Any] | None,
        messages: MessageAssembler,
        *,
        ping_interval: float,
        ping_timeout: float,
        close_timeout: float,
    ) -> None:
        self.protocol = protocol
        self.loop = server.loop
        self.server = server
        self.task = task
        self.keepalive = Keepalive(self, ping_interval, ping_timeout)
        self.close_timeout = close_timeout
        self.lost = False
        self._messages: deque[tuple[Message, int]] = deque()
        self._queued = 0
        self._assembler = messages
        self._failed = False  # a message was refused: the frames parsed behind it are not delivered
        self._held = b""  # received, not parsed yet: there was a backlog (see _feed)
        self._partial = b""  # the start of a small data frame, not parsed yet: the rest is to come
        self._to_protocol = 0  # bytes of a frame the protocol has begun that it has yet to be given
        self._recv_waiter: asyncio.Future[None] | None = None
        self._lost_waiter: asyncio.Future[None] = self.loop.create_future()
        self._waiting = 0  # how many calls are suspended in recv/send/close (see connection_lost)
        self._abort_handle: asyncio.TimerHandle | None = None

    def start(self, flow: FlowControl, rest: bytes) -> None:
        """Take the connection over (its flow control and *rest*, what arrived after the request head): send
        the 101 response, take in *rest*, and start reading."""
        self.flow = flow
        self.transport = flow.transport
        self.flush()
        if rest:
            self.data_received(rest)
        self._read_more()
        self.keepalive.start()

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
        protocol = self.protocol
        if isinstance(message, str):
            data: bytes | bytearray = message.encode()
            opcode = ws_frames.TEXT
        elif isinstance(message, (bytes, bytearray)):
            data, opcode = message, ws_frames.BINARY
        elif isinstance(message, memoryview):
            data, opcode = message.tobytes(), ws_frames.BINARY  # its length in bytes, whatever its format
        else:
            raise TypeError(f"a websocket message is str or bytes, not {type(message).__name__}")
        if protocol.extensions or protocol.writes:  # a frame to transform, or others to send first
            (protocol.send_text if opcode == ws_frames.TEXT else protocol.send_binary)(data)
            self.flush()
        elif len(data) < 16384:  # plain and small: one write, without the protocol's Frame (see ws_frames)
            self.transport.write(ws_frames.head(opcode, len(data)) + data)  # type: ignore[union-attr]
        else:
            self.transport.writelines((ws_frames.head(opcode, len(data)), data))  # type: ignore[union-attr]
        if self.flow.write_paused:
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
            self.flush()
            self._arm_abort()
        if not self.lost:
            self._waiting += 1
            try:
                await asyncio.shield(self._lost_waiter)
            finally:
                self._waiting -= 1

    # -- server lifecycle -----------------------------------------------------------------------------
    def drain(self) -> None:
        """A WebSocket has no next response to say ``Connection: close`` on: it closes at the shutdown."""

    def shutdown(self) -> None:
        """Graceful shutdown: close with 1001 (going away); the handler sees the close."""
        if not self.lost and self.protocol.state is State.OPEN:
            self.protocol.send_close(GOING_AWAY, "server shutting down")
            self.flush()
            self._arm_abort()

    # -- asyncio.Protocol -----------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:  # noqa: D102
        if self.lost or self.protocol.reader.eof:
            return
        self._feed(data)

    def eof_received(self) -> bool | None:  # noqa: D102
        if self._held and not self.protocol.reader.eof:
            self._feed(self._take_held(), hold=False)  # what came before the end, in order
        if self._partial and not self.protocol.reader.eof:
            self.protocol.receive_data(self._partial)  # a frame cut short: the protocol fails it (1006)
            self._partial = b""
        self.protocol.receive_eof()
        self._process()
        return None

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        self.lost = True
        self._held = b""
        self.flow.connection_lost()
        self.server.connections.discard(self)
        self.keepalive.stop()
        if self._abort_handle is not None:
            self._abort_handle.cancel()
        self.protocol.receive_eof()
        self.protocol.data_to_send()
        if not self._lost_waiter.done():
            self._lost_waiter.set_result(None)
        self.wake()
        task = self.task
        if task is not None and not task.done() and not self._waiting:
            # The handler awaits something other than this websocket: it would never learn of the close.
            task.cancel()

    def pause_writing(self) -> None:  # noqa: D102
        self.flow.pause_writing()

    def resume_writing(self) -> None:  # noqa: D102
        self.flow.resume_writing()
        self._read_more()

    # -- internals ------------------------------------------------------------------------------------
    def _feed(self, data: bytes, hold: bool = True) -> None:
        """Parse *data* frame by frame (or a slice at a time); once there is a backlog, keep the rest
        (unparsed) and stop reading.

        Whole plain data frames are taken here (`ws_frames`); every other frame goes to the protocol from
        its first byte, at most a slice at a time. The protocol parses every frame it is given at once: in
        slices, a read full of tiny frames becomes a few thousand objects at most, and what is held back is
        bytes, not messages or queued pongs.
        """
        if self._held:
            data = self._take_held() + data
        elif self._partial:
            data, self._partial = self._partial + data, b""
        pos, end = 0, len(data)
        protocol = self.protocol
        while pos < end:
            if hold and self._backlogged():
                self._held = data[pos:] if pos else data
                self.flow.pause_reading()
                return
            if self._to_protocol or protocol.state is not State.OPEN or protocol.extensions or self._failed:
                stop = min(end, pos + (self._to_protocol or FEED_SLICE))
                if self._to_protocol:
                    self._to_protocol -= stop - pos
                protocol.receive_data(data[pos:stop] if pos or stop < end else data)
                self._process()
                pos = stop
                continue
            frame = ws_frames.extent(data, pos)
            if frame is None:  # a header cut short
                self._partial = data[pos:]
                return
            payload, frame_end = frame
            if not ws_frames.plain(data, pos, payload, frame_end, protocol.max_message_size) or (
                protocol.current_size is not None  # a fragmented message is open: the protocol refuses it
            ):
                self._to_protocol = frame_end - pos
            elif frame_end <= end:
                self._take(data, pos, payload, frame_end)
                pos = frame_end
            elif frame_end - pos <= FEED_SLICE:
                self._partial = data[pos:]
                return
            else:  # a large frame arriving in pieces: the protocol gathers it
                self._to_protocol = frame_end - pos

    def _take(self, data: bytes, pos: int, payload: int, end: int) -> None:
        """Deliver the whole plain data frame at *pos* (see `ws_frames`)."""
        body = ws_frames.apply_mask(data[payload:end], data[payload - 4 : payload])
        try:
            message = whole_message(body, data[pos] & 0x0F == ws_frames.TEXT)
        except MessageError as exc:
            self._failed = True
            self.protocol.fail(exc.code, exc.reason)
            self._process()
            return
        self._deliver(message)

    def _backlogged(self) -> bool:
        return (
            self.flow.write_paused or self._queued >= READ_HIGH or len(self._messages) >= READ_HIGH_MESSAGES
        )

    def _read_more(self) -> None:
        """The backlog may be gone: parse what was held back, then read again unless it filled up again."""
        if self.lost or self._backlogged():
            return
        if self._held:
            self._feed(self._take_held())
        if not self._held and not self._backlogged():
            self.flow.resume_reading()

    def _take_held(self) -> bytes:
        held, self._held = self._held, b""
        return held

    def _process(self) -> None:
        for event in self.protocol.events_received():
            if isinstance(event, Frame):  # after the handshake, always
                self._on_frame(event)
        self.flush()
        if self._inbound_done():
            self.wake()

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
            self.keepalive.pong(frame.data)

    def _deliver(self, message: Message) -> None:
        size = len(message)  # characters for text: close enough for flow control
        self._messages.append((message, size))
        self._queued += size
        waiter = self._recv_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def flush(self) -> None:
        """Write what the protocol has to send (its end of stream closes the transport)."""
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
        flow = self.flow
        self._waiting += 1
        try:
            while flow.write_paused and not self.lost and not self.protocol.eof_sent:
                await asyncio.shield(flow.waiter())
        finally:
            self._waiting -= 1
        if flow.write_paused:
            raise self._closed_error()

    def wake(self) -> None:
        """Wake whoever waits in `receive` or on the write buffer: the state changed."""
        waiter = self._recv_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self.flow.wake()

    def _arm_abort(self) -> None:
        # However the closing went, the socket goes away after WEBSOCKET_CLOSE_TIMEOUT (say, a dead peer
        # whose unread data keeps transport.close() from ever finishing).
        if self._abort_handle is None and self.close_timeout and not self.lost:
            self._abort_handle = self.loop.call_later(self.close_timeout, self._abort)

    def _abort(self) -> None:
        if not self.lost and self.transport is not None:
            self.transport.abort()
