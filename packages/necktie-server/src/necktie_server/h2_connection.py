"""HTTP/2 connections: python-hyper's sans-I/O `h2` engine, driven by the transport (as WebSockets run on
the `websockets` engine).

A connection becomes HTTP/2 when ALPN chose ``h2`` or its first bytes are the preface: `h2_adopt` then
hands the transport and its `FlowControl` to an `Http2Connection`, which from then on is its protocol.

What the client sends passes `FrameGuard` (the floods and oversized header blocks, before any decoding),
then `h2`, whose events this module acts on: each new stream is an `H2Stream` whose request runs through
``app.handle`` in a task of its own with its own copy of the context; a stream the client resets cancels
that handler only. Flow control is the back-pressure both ways: the connection's window is given back as
data arrives (the streams' windows bound what is buffered), each stream's as its handler reads; responses
are sent from the streams' queues as the client's windows and the transport allow (`pump`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, cast

from h2 import events as ev
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.exceptions import ProtocolError
from h2.settings import SettingCodes
from hyperframe.frame import GoAwayFrame
from pynecktie.exceptions import ConnectionClosed, NecktieException

from .h2_guard import FrameGuard, local_settings
from .h2_headers import check_trailers, make_request
from .h2_stream import H2Stream
from .metering import note_response
from .timers import Deadline

if TYPE_CHECKING:
    from pynecktie.request import ConnInfo

    from .flow_control import FlowControl
    from .server import ServerState
    from .settings import Http2Settings

error_logger = logging.getLogger("necktie.error")

MAX_WINDOW = (1 << 31) - 1
FLUSH_EVERY = 1 << 16  # response bytes handed to h2 before they go on to the transport in one write
DEFAULT_WINDOW = 65535


class Http2Connection(asyncio.Protocol):
    """One HTTP/2 connection: the transport's protocol after `necktie_server.h2_adopt.adopt`."""

    def __init__(
        self, server: ServerState, flow: FlowControl, conn_info: ConnInfo, context: contextvars.Context
    ) -> None:
        self.server = server
        self.app = server.app
        self.settings = server.settings
        self.loop = server.loop
        self.flow = flow
        self.transport: asyncio.Transport | None = flow.transport
        self.conn_info = conn_info
        limits = cast("Http2Settings", self.settings.http2)
        self.limits = limits
        # Header lists are checked by the server itself, each way: the responses' by `pynecktie.heads`, the
        # requests' by `h2_headers` (a malformed one is a 400 on its stream, where h2 would end the whole
        # connection), each in one pass where h2 takes several.
        config = H2Configuration(
            client_side=False,
            header_encoding=None,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
            validate_inbound_headers=False,
            normalize_inbound_headers=False,
        )
        self.h2 = H2Connection(config)
        self.h2.local_settings = local_settings(limits, self.settings.max_header_size)
        # The hard bound of decoding (the advertised list size is the limit answered with a 431); h2 lowers
        # it when the client acknowledges the SETTINGS (`_on_event` raises it back).
        self.h2.decoder.max_header_list_size = limits.max_header_block_size
        self.guard = FrameGuard(limits, self.loop.time)
        self.streams: dict[int, H2Stream] = {}
        self._sending: dict[int, H2Stream] = {}  # streams with something queued to send
        self._context = context
        self.window_step = max(1, limits.initial_window_size // 2)
        self._conn_window = min(
            MAX_WINDOW, max(DEFAULT_WINDOW, limits.max_concurrent_streams * limits.initial_window_size)
        )
        self._conn_unacked = 0
        self._flush_handle: asyncio.Handle | None = None
        self.deadline = Deadline(self.loop, self._on_timeout)
        self.requests = 0
        self.closing = False  # GOAWAY sent: no new stream is taken, the connection closes once idle
        self.lost = False

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self, received: bytes) -> None:
        """Send the server's preface (SETTINGS, the connection window), then take in *received*."""
        h2 = self.h2
        server, most = self.server, self.settings.max_connections
        if server.stopping or (most and len(server.connections) > most):
            h2.initiate_connection()
            h2.close_connection(ErrorCodes.NO_ERROR, last_stream_id=0)  # no stream taken: retry elsewhere
            self._close()
            return
        h2.initiate_connection()
        del h2.local_settings[SettingCodes.MAX_CONCURRENT_STREAMS]  # advertised; held by `_on_request`
        if self._conn_window > DEFAULT_WINDOW:
            h2.increment_flow_control_window(self._conn_window - DEFAULT_WINDOW)
        self._flush()
        self.deadline.arm(self.settings.keep_alive_timeout)
        if received:
            self.data_received(received)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run a stream's request in a task of its own, with a fresh copy of the connection's context."""
        return self.loop.create_task(coro, context=self._context.copy())

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        self.lost = True
        self.closing = True
        self.flow.connection_lost()
        self.deadline.cancel()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self.server.connections.discard(self)
        gone = ConnectionClosed("the client closed the connection")
        for stream in list(self.streams.values()):
            stream.gone(gone)
        self.streams.clear()
        self._sending.clear()

    def shutdown(self) -> None:
        """Graceful shutdown: GOAWAY now (streams in progress finish), close once none is left."""
        if not self.closing and not self.lost:
            self.closing = True
            # Written past h2, whose own GOAWAY would close its side at once: the streams in progress
            # still send. A stream opened after it is refused (_on_request).
            goaway = GoAwayFrame(0)
            goaway.last_stream_id = self.h2.highest_inbound_stream_id
            goaway.error_code = ErrorCodes.NO_ERROR
            self._flush()
            if self.transport is not None and not self.transport.is_closing():
                self.transport.write(goaway.serialize())
        if not self.streams:
            self._close()

    drain = shutdown  # the server drains: new requests belong on a new connection (graceful GOAWAY)

    def _close(self) -> None:
        self.closing = True
        self.deadline.cancel()
        self._flush()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _go_away(self, code: ErrorCodes | None, reason: str) -> None:
        """End the connection for *reason* (a protocol error or a flood): GOAWAY with *code* (None: h2 has
        queued its own, for an error it raised), then close."""
        error_logger.info("Closing an HTTP/2 connection: %s", reason)
        if not self.lost and code is not None:
            try:
                self.h2.close_connection(code, last_stream_id=self.h2.highest_inbound_stream_id)
            except ProtocolError:
                pass  # h2's state machine has no GOAWAY left to send
        self._close()

    def _server_reset(self) -> None:
        problem = self.guard.server_reset()
        if problem is not None:
            self._go_away(ErrorCodes.ENHANCE_YOUR_CALM, problem)

    def _on_timeout(self) -> None:
        if self.guard.in_block:
            self._go_away(ErrorCodes.PROTOCOL_ERROR, "a header block was not finished in time")
        elif not self.streams:
            self.shutdown()  # idle for KEEP_ALIVE_TIMEOUT

    def _idle_check(self) -> None:
        if self.guard.in_block:
            self.deadline.arm(self.settings.request_timeout)
        elif not self.streams:
            if self.closing:
                self._close()
            else:
                self.deadline.arm(self.settings.keep_alive_timeout)
        else:
            self.deadline.disarm()

    # -- reading --------------------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:  # noqa: D102
        if self.lost:
            return
        problem = self.guard.feed(data)
        if problem is not None:
            self._go_away(self.guard.code, problem)
            return
        try:
            events = self.h2.receive_data(data)
        except ProtocolError as exc:
            self._go_away(None, f"protocol error: {exc}")
            return
        for event in events:
            self._on_event(event)
            if self.transport is None or self.transport.is_closing():
                return  # a flood found among the events: the rest is not acted on
        self._idle_check()
        self._schedule_flush()

    def eof_received(self) -> bool | None:  # noqa: D102
        return None  # the transport closes; connection_lost ends the streams

    def _on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.DataReceived):
            stream = self.streams.get(event.stream_id)
            size = event.flow_controlled_length or 0
            self._conn_unacked += size
            if self._conn_unacked >= self._conn_window // 2:
                self.h2.increment_flow_control_window(self._conn_unacked)
                self._conn_unacked = 0
            if stream is not None:
                stream.feed(event.data or b"", size)
        elif isinstance(event, ev.RequestReceived):
            self._on_request(event)
        elif isinstance(event, ev.StreamEnded):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream.ended()
        elif isinstance(event, ev.StreamReset):
            stream = self.streams.pop(event.stream_id, None)
            if stream is not None:
                self._sending.pop(stream.id, None)
                stream.gone(ConnectionClosed("the client reset the stream"))
                note_response(self.server, stream, cut=True)
            if not event.remote_reset:  # h2 reset it: a stream error of the client's
                self._server_reset()
        elif isinstance(event, ev.WindowUpdated | ev.RemoteSettingsChanged):
            if isinstance(event, ev.RemoteSettingsChanged):
                table = event.changed_settings.get(SettingCodes.HEADER_TABLE_SIZE)
                if table is not None and table.new_value > self.limits.header_table_size:
                    # The client may let the server's encoder keep a table of any size: it keeps its own.
                    self.h2.encoder.header_table_size = self.limits.header_table_size
            self.pump(None)
        elif isinstance(event, ev.TrailersReceived):
            try:
                check_trailers(list(event.headers or ()), self.settings)
            except NecktieException as exc:
                stream = self.streams.get(event.stream_id)
                if stream is not None:
                    self.reset_stream(stream, ErrorCodes.PROTOCOL_ERROR)
                error_logger.info("Reset a stream whose trailers passed the limits: %s", exc)
        elif isinstance(event, ev.SettingsAcknowledged):
            self.h2.decoder.max_header_list_size = self.limits.max_header_block_size
        elif isinstance(event, ev.ConnectionTerminated):
            self.closing = True  # the client's GOAWAY: what is in progress finishes

    def _on_request(self, event: ev.RequestReceived) -> None:
        stream_id = event.stream_id
        if self.closing or len(self.streams) >= self.limits.max_concurrent_streams:
            self.h2.reset_stream(stream_id, ErrorCodes.REFUSED_STREAM)
            if not self.closing:
                self._server_reset()
            return
        stream = self.streams[stream_id] = H2Stream(self, stream_id)
        ended = stream.remote_ended = event.stream_ended is not None
        self.requests += 1
        max_requests = self.settings.keep_alive_max_requests
        try:
            request = make_request(self.app, list(event.headers or ()), self.conn_info, self.settings)
        except NecktieException as exc:
            stream.refuse(exc)
        else:
            stream.open(request, ended)
        if max_requests and self.requests >= max_requests:
            self.shutdown()

    # -- writing --------------------------------------------------------------------------------------
    def send_headers(self, stream: H2Stream, headers: list[tuple[bytes, bytes]], end: bool) -> None:
        """Send a HEADERS frame on *stream* (END_STREAM with it when *end*)."""
        if stream.reset or self.lost:
            return
        try:
            self.h2.send_headers(stream.id, headers, end_stream=end)
        except ProtocolError as exc:
            error_logger.error("Cannot send the response head of stream %d: %s", stream.id, exc)
            self.reset_stream(stream, ErrorCodes.INTERNAL_ERROR)
            return
        self._schedule_flush()

    def pump(self, stream: H2Stream | None) -> None:
        """Send what the streams queued, as far as the client's windows and the transport allow."""
        if stream is not None and not stream.reset:
            self._sending[stream.id] = stream
        if self.flow.write_paused or self.lost or not self._sending:
            return
        h2 = self.h2
        frame = h2.max_outbound_frame_size
        sent_frames = unflushed = 0
        moved = True
        while moved and self._sending:
            moved = False
            for sid, each in list(self._sending.items()):
                if unflushed >= FLUSH_EVERY:
                    # Into the transport now, where its high-water mark stops the writers, rather than
                    # piling up in h2's buffer until the loop's next turn.
                    self._flush()
                    unflushed = 0
                    if self.flow.write_paused:
                        moved = False
                        break
                if each.queued:
                    window = min(h2.local_flow_control_window(sid), frame)
                    if window <= 0:
                        each.stalled(True)
                        continue
                    data, end = each.take(window)
                    try:
                        h2.send_data(sid, data, end_stream=end)
                    except ProtocolError:  # closed on h2's side meanwhile
                        self.reset_stream(each, ErrorCodes.STREAM_CLOSED)
                        continue
                    each.stalled(False)
                    sent_frames += 1
                    unflushed += len(data)
                    moved = True
                elif each.end_pending:
                    h2.end_stream(sid)
                    end = True
                else:
                    end = False
                if end:
                    del self._sending[sid]
                    self.finish(each)
                elif not each.queued and not each.end_pending:
                    del self._sending[sid]
        if sent_frames:
            self.guard.data_sent(sent_frames)
        self._schedule_flush()

    def finish(self, stream: H2Stream) -> None:
        """*stream*'s response went out whole: log it, stop reading its request if unfinished."""
        stream.finished = True
        if self.streams.pop(stream.id, None) is None:
            return
        if not stream.remote_ended and not stream.reset:
            # Answered before the whole request arrived: the rest is not wanted (RFC 9113 §8.1).
            with contextlib.suppress(ProtocolError):
                self.h2.reset_stream(stream.id, ErrorCodes.NO_ERROR)
            stream.gone(ConnectionClosed("the response ended before the request"))
        note_response(self.server, stream)  # the metrics and the access log
        self._idle_check()

    def reset_stream(self, stream: H2Stream, code: ErrorCodes) -> None:
        """Reset *stream* (RST_STREAM with *code*); the others go on."""
        self._sending.pop(stream.id, None)
        live = self.streams.pop(stream.id, None) is not None
        if live and not self.lost:
            try:
                self.h2.reset_stream(stream.id, code)
            except ProtocolError:
                pass  # already closed on h2's side
            self._schedule_flush()
        stream.gone(ConnectionClosed("the stream was reset"))
        if live:
            note_response(self.server, stream, cut=True)
        self._idle_check()

    def open_window(self, stream_id: int, size: int) -> None:
        """Give *size* bytes back to a stream's window (its handler took them)."""
        if self.lost:
            return
        try:
            self.h2.increment_flow_control_window(size, stream_id=stream_id)
        except (ProtocolError, KeyError):
            return  # the stream is closed
        self._schedule_flush()

    def pause_writing(self) -> None:  # noqa: D102
        self.flow.pause_writing()

    def resume_writing(self) -> None:  # noqa: D102
        self.flow.resume_writing()
        self.pump(None)

    def _schedule_flush(self) -> None:
        if self._flush_handle is None and not self.lost:
            self._flush_handle = self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        data = self.h2.data_to_send()
        if data and not self.lost and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)
