"""The HTTP/1.1 connection: an `asyncio.Protocol` driven by httptools' parser callbacks.

Theory of operation
-------------------
A connection reads requests one after another and answers them in order. What it does with its input is
its `State` (`necktie_server.state`)::

    IDLE --first byte--> HEAD --head parsed--> BODY --body ended--> IDLE      (keep-alive: the next one)
    IDLE/HEAD/BODY --an error, a refused upgrade, a last request--> STOPPED --last answer--> LINGER
    IDLE/HEAD/BODY --the client's FIN while answers are due--> EOF --last answer--> CLOSING
    LINGER --FIN, time or byte limit--> CLOSING --> CLOSED;   STOPPED --101--> UPGRADED

Each request becomes a `Cycle` as soon as its head is parsed, queued in ``cycles`` (pipelining); the one
at the front is the one answered, and ``parsing`` is the one whose body is still arriving. A cycle's
handler runs in a task of its own once it is at the front and, for a buffered route, its body is in; a
stream route's handler starts at once and pulls its body from a bounded `BodyBuffer`. An error in the
input is answered in order, after the requests before it, and parsing stops there. Closing with unread
input makes the kernel send a reset that can destroy the answer, so such a connection lingers: it
half-closes and drops what still comes for a moment.

Reading is explicit flow control: the parser is fed at most 64 KiB at a time, and while a streaming
handler's buffer is full or too many pipelined requests wait, the rest stays unparsed (``_unparsed``)
and the transport stops reading until the handler catches up. Writing goes through `FlowControl`.
Parts of this class live in modules of their own, one concept each: the head's parser callbacks
(`necktie_server.head`), the body's (`necktie_server.intake`), and the ways a connection ends
(`necktie_server.ending`).
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, cast

import httptools
from pynecktie.cors import add_cors_headers
from pynecktie.errorpages import render_error
from pynecktie.exceptions import BadRequest, ConnectionClosed, NecktieException
from pynecktie.request import ConnInfo

from .cycle import Cycle, Stage
from .eager import eager_task
from .ending import LINGER_BYTES, Ending
from .flow_control import FlowControl
from .head import HeadReader
from .intake import BodyIntake, cycle_continue
from .state import BODY, CLOSED, HEAD, IDLE, LINGER, STOPPED, UPGRADED, ConnectionState, State
from .timers import Deadline

if TYPE_CHECKING:
    from .server import ServerState
    from .websocket import WebSocketConnection

FEED_SIZE = 65536  # parser input slice: bounds work per step and keeps glibc from trimming the heap each read
HEAD_STEP = 4096  # parser input slice outside bodies: a usual request in one step, ~200 tiny ones at most


class HttpProtocol(HeadReader, BodyIntake, Ending, asyncio.Protocol):
    """One client connection: parses requests, runs each in a task of its own, answers them in order."""

    # Slots (the fields `ConnectionState` declares): thousands of idle keep-alive connections should cost
    # little memory each.
    __slots__ = (*ConnectionState.__annotations__, "__weakref__")

    def __init__(self, server: ServerState) -> None:
        self.server = server
        self.app = server.app
        self.settings = settings = server.settings
        self.loop = server.loop
        self.transport = None
        self.state = IDLE
        self.parser = None  # made by the first read, given back while idle (ServerSettings.idle_wait)
        self.cycles = []  # rarely more than one: a list is smaller than a deque
        self.parsing = None
        self.conn_info = ConnInfo()
        self.requests_started = 0
        self.deadline = Deadline(self.loop, self._on_read_timeout)
        self._context = contextvars.copy_context()
        self._unparsed = b""
        self._discarded = 0
        self._good_host = b""
        self._line_cap = settings.max_line_size
        self._quick_cap = settings.header_quick_cap  # (shared ints: nothing allocated per connection)
        self._messages_begun = self._idle_fed = 0
        self._chunked = self._head_in_piece = False
        self._chunk_headers = self._chunk_gap = self._body_fed = 0
        self._body_rate = None
        # The head's own fields are set by on_message_begin, before any use.

    # -- connection lifecycle -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # noqa: D102
        self.transport = transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self.flow = FlowControl(self.loop, transport, self.settings)
        server = self.server
        server.connections.add(self)
        transport.set_write_buffer_limits(high=self.settings.write_buffer_high)
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        client_ip, client_port = (peer[0], peer[1]) if isinstance(peer, tuple) else ("", 0)
        server_ip, server_port = (sock[0], sock[1]) if isinstance(sock, tuple) else ("", 0)
        self.conn_info = ConnInfo(
            client_ip,
            client_port,
            sys.intern(server_ip),
            server_port,
            transport.get_extra_info("sslcontext") is not None,
        )
        if self.conn_info.ssl and self.settings.http2 is not None:
            from .h2_adopt import adopt, negotiated

            if negotiated(transport):
                adopt(self, b"")  # (an HTTP/2 connection refuses what is over capacity with GOAWAY)
                return
        if server.stopping or (
            self.settings.max_connections and len(server.connections) > self.settings.max_connections
        ):
            body = b"503 Service Unavailable\n"
            self.write(
                b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n%s" % (len(body), body)
            )
            self._linger()  # its request may be on the way: a reset would destroy the 503 before it is read
            return
        self.deadline.arm(self.settings.keep_alive_timeout)  # (no parser yet: the whole wait at once)

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        self.state = CLOSED
        self.server.connections.discard(self)
        self.deadline.cancel()
        self.flow.connection_lost()
        if self._body_rate is not None:
            self._body_rate.stop()
        for cycle in self.cycles:
            cycle.parts = None
            if cycle.buffer is not None:
                cycle.buffer.fail(ConnectionClosed("the client closed the connection"))
            if cycle.task is not None and not cycle.task.done() and cycle.stage is not Stage.DONE:
                cycle.task.cancel()
        self.cycles.clear()
        self.parsing = None

    @property
    def closed(self) -> bool:
        """True once the connection is gone, or handed over to a WebSocket."""
        return self.state >= UPGRADED

    def hand_over(self, cycle: Cycle, protocol: WebSocketConnection) -> tuple[FlowControl, bytes]:
        """Give the transport to *protocol* after *cycle*'s ``101``: its flow control and the unread bytes.

        The HTTP side is done: the 101 is logged, this connection's timers stop, and from now on the
        transport delivers to *protocol*, which takes this connection's place among the server's.
        """
        cycle.status = 101
        cycle.stage = Stage.DONE
        self.cycles.clear()
        server = self.server
        if server.stats is not None:  # METRICS_PATH (necktie_server.metering)
            server.stats.finished(cycle.request, 101, 0, cycle.began, False)  # type: ignore[arg-type]
        if server.access_log is not None:
            server.access_log(cycle)
        self.deadline.cancel()
        self.state = UPGRADED
        rest, self._unparsed = self._unparsed, b""
        self.server.connections.discard(self)
        self.server.connections.add(protocol)
        self.flow.transport.set_protocol(protocol)
        return self.flow, rest

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run *coro* (a request's work) in a task of its own, with a fresh copy of the connection's context:
        nothing a handler sets in its context is seen by the next request on this connection."""
        return self.loop.create_task(coro, context=self._context.copy())

    # -- writing (its flow control is `FlowControl`'s) -----------------------------------------------
    def write(self, data: bytes) -> None:
        """Hand bytes to the transport (dropped once it is half-closed, closing or gone)."""
        # Until the lingering close (after it, the transport is half-closed or closing). `is` first: the
        # usual case without a comparison.
        if self.state is IDLE or self.state < LINGER:
            self.transport.write(data)  # type: ignore[union-attr]  # set by connection_made

    def writelines(self, data: Any) -> None:
        """Hand several byte strings to the transport in order."""
        if self.state is IDLE or self.state < LINGER:
            self.transport.writelines(data)  # type: ignore[union-attr]  # set by connection_made

    def pause_writing(self) -> None:  # noqa: D102
        self.flow.pause_writing()

    def resume_writing(self) -> None:  # noqa: D102
        self.flow.resume_writing()

    # -- reading and its flow control -----------------------------------------------------------------
    def data_received(self, data: bytes) -> None:  # noqa: D102
        if self.state is not IDLE and self.state > BODY:
            if self.state is LINGER:
                self._discarded += len(data)
                if self._discarded > LINGER_BYTES:
                    self.close()
            return
        if self._unparsed:
            self._unparsed += data
            return
        parser = self.parser
        if parser is None:
            parser = self.parser = httptools.HttpRequestParser(self)
        parsing = self.parsing
        if self.state is not HEAD and (
            (parsing is None and not self.cycles and len(data) <= HEAD_STEP)
            or (parsing is not None and len(data) <= FEED_SIZE and not self._blocked())
        ):
            # The common case: a whole small request (or body piece) in one read.
            begun = self._messages_begun
            try:
                parser.feed_data(data)  # (_parse, inline: a call less on every request)
            except Exception as exc:
                self._parse_failed(exc, data, b"")
                self._activate()
                return
            self._activate(eager=True)
            if ((parsing is None and begun == self._messages_begun) or self._chunked) and self._check_fed(
                len(data), False, begun, parsing is None
            ):
                return
            if self.state is HEAD or self.parsing is not None:
                self._arm_read_deadline()
            return
        self._feed_slices(data)

    def _parse(self, piece: bytes | memoryview, rest: bytes | memoryview = b"") -> bool:
        """Feed one piece to the parser; False when parsing stopped (an upgrade, or an error answered).

        *rest* is what follows *piece* in the same read: after an upgrade it belongs to the new protocol.
        """
        try:
            self.parser.feed_data(piece)  # type: ignore[union-attr]  # (made by data_received)
        except Exception as exc:
            self._parse_failed(exc, piece, rest)
            self._activate()
            return False
        self._activate()
        return True

    def _parse_failed(self, exc: Exception, piece: bytes | memoryview, rest: bytes | memoryview) -> None:
        """The parser stopped on *piece*: an upgrade to hand over, or an error to answer."""
        if isinstance(exc, httptools.HttpParserUpgrade):
            self._upgrade(bytes(piece[exc.args[0] :]) + bytes(rest))
        elif isinstance(exc, NecktieException):
            self._fail(exc)
        elif isinstance(exc, httptools.HttpParserError):
            if (
                self.settings.http2 is not None
                and self.requests_started == 0
                and self.parser is not None
                and self.parser.get_method() == b"PRI"
            ):
                from .h2_adopt import adopt, from_preface  # HTTP/2 by prior knowledge: its preface

                adopt(self, from_preface(bytes(piece) + bytes(rest)))
                return
            cause = exc.__context__
            self._fail(cause if isinstance(cause, NecktieException) else BadRequest(f"Bad request: {exc}"))
        else:
            raise exc

    def _arm_read_deadline(self) -> None:
        """After a read: a partial head runs against the head deadline, a partial body the body one."""
        if self.state is HEAD:
            if not self._head_deadline_armed:
                self._head_deadline_armed = True
                self.deadline.arm(self.settings.request_timeout)
        elif self.parsing is not None:
            self.deadline.arm(self.settings.body_timeout)

    def _feed_slices(self, data: bytes) -> None:
        view = memoryview(data)
        size = len(view)
        offset = 0
        while offset < size:
            if self._blocked():
                self._unparsed = bytes(view[offset:])
                self.flow.pause_reading()
                return
            # Outside a body, parse in small steps so that pipelined requests stop being taken at the
            # window's edge instead of at the end of a large read.
            step = FEED_SIZE if self.parsing is not None else HEAD_STEP
            piece = view[offset : offset + step] if offset or size > step else data
            offset += step
            in_head = self.state is HEAD
            begun = self._messages_begun
            idle = self.parsing is None and not in_head
            if not self._parse(piece, view[offset:]):
                return
            if self._check_fed(len(piece), in_head, begun, idle):
                return
        self._arm_read_deadline()

    def _blocked(self) -> bool:
        parsing = self.parsing
        if parsing is not None and parsing.buffer is not None and parsing.buffer.full:
            return True
        return len(self.cycles) > self.settings.pipeline_max_requests

    def maybe_resume(self) -> None:
        """Resume reading once nothing blocks it any more (a buffer drained, a request finished)."""
        if self.state > BODY or self._blocked():
            return
        if self._unparsed:
            # Parse what was already read before reading more: resuming first lets new reads pile up
            # behind it (each appended to it), so a large upload grew it without bound.
            self.loop.call_soon(self._feed_unparsed, context=self._context)
            return
        self.flow.resume_reading()

    def _feed_unparsed(self) -> None:
        data, self._unparsed = self._unparsed, b""
        if data and self.state <= BODY:
            self.data_received(data)
            self.maybe_resume()

    # -- running requests -----------------------------------------------------------------------------
    def _activate(self, eager: bool = False) -> None:
        """Start the request at the front of the line if it is ready, or answer its error.

        A request read whole is started here after the parser returns (never from inside its callbacks,
        so a handler that answers at once does not run in the middle of a parse). *eager*: after a whole
        read was parsed, where the handler may run its first step at once (`necktie_server.eager`).
        """
        if not self.cycles:
            return
        cycle = self.cycles[0]
        if cycle.task is not None or cycle.stage is not Stage.IDLE:
            return
        request = cycle.request
        if cycle.error is not None or request is None:
            answer = render_error(request, cycle.error or BadRequest(), self.settings.debug)
            add_cors_headers(request, answer)
            cycle.send_error_now(answer)
            return
        if cycle.buffer is None and not cycle.complete:
            if cycle.expect_continue:
                # After this read is parsed: no 100 if the body came with the head.
                cycle.expect_continue = False
                self.loop.call_soon(cycle_continue(cycle))
            return
        if cycle.reply is not None:
            cycle.send_now(cycle.reply, b"")
            return
        # spawn(), inline: this runs for every request.
        loop = self.loop
        if eager and eager_task is not None and loop.get_task_factory() is None:
            cycle.task = eager_task(self.app.handle(request, cycle), self._context.copy())
        else:
            cycle.task = loop.create_task(self.app.handle(request, cycle), context=self._context.copy())

    def response_done(self, cycle: Cycle, abort: bool = False) -> None:
        """A response is complete (or abandoned): go on with the next request, or close."""
        cycles = self.cycles
        if cycles and cycles[0] is cycle:
            del cycles[0]
        request = cycle.request
        if request is not None:
            server = self.server
            if server.stats is not None:  # METRICS_PATH (necktie_server.metering); cut: the client left
                server.stats.finished(
                    request, cycle.status, cycle.sent, cycle.began, cycle.aborted and self.closed
                )
            if server.access_log is not None:
                server.access_log(cycle)
        state = self.state
        # Stopped: the answers already due (an error's among them) still go out, in order.
        if (
            abort
            or not cycle.keep_alive
            or (not cycle.complete and not cycle.discarding)  # (a discarded rest is read, then the next)
            or (state is not IDLE and state > BODY and not (state is STOPPED and cycles))
        ):
            unread = state is STOPPED or not cycle.complete
            self._stop_parsing()
            if unread:
                self._linger()
            else:
                self.close()
            return
        if cycles:
            self._activate()
        elif self.parsing is None and state is IDLE:
            self.deadline.arm(self.settings.idle_wait)
        if self._unparsed or self.flow.read_paused:
            self.maybe_resume()


__all__ = ["HttpProtocol", "State"]
