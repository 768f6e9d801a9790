"""The HTTP/1.1 connection: an `asyncio.Protocol` driven by httptools' parser callbacks.

Reading is explicit flow control: the parser is fed at most 64 KiB at a time, and while a streaming
handler's buffer is full or too many pipelined requests wait, the rest stays unparsed and the transport
stops reading until the handler catches up.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import TYPE_CHECKING, Any

import httptools
from pynecktie.body_limit import refuse_at_head
from pynecktie.errorpages import render_error
from pynecktie.exceptions import (
    BadRequest,
    ConnectionClosed,
    NecktieException,
    PayloadTooLarge,
    RequestTimeout,
)
from pynecktie.request import ConnInfo, Request
from pynecktie.response import HTTPResponse

from . import h1, websocket
from .body import BodyBuffer
from .cycle import Cycle, Stage
from .timers import Deadline

if TYPE_CHECKING:
    from .server import ServerState

error_logger = logging.getLogger("necktie.error")

FEED_SIZE = 65536  # parser input slice: bounds work per step and keeps glibc from trimming the heap each read
LINGER_SECONDS = 2.0  # after an error answer, how long input is still read and dropped before closing
LINGER_BYTES = 1 << 22  # ...and how much of it
SMALL_CHUNK = 4096  # body pieces under this are joined while buffered, bounding per-piece overhead
HEAD_STEP = 4096  # parser input slice outside bodies: a usual request in one step, ~200 tiny ones at most


class HttpProtocol(asyncio.Protocol):
    """One client connection: parses requests, runs each in a task of its own, writes the responses in order."""

    # Slots: thousands of idle keep-alive connections should cost little memory each.
    __slots__ = (
        "_body_fed",
        "_header_cap",
        "_line_cap",
        "_headers_cap",
        "_chunk_gap",
        "_chunk_headers",
        "_chunked",
        "_context",
        "_drain_waiter",
        "_good_host",
        "_head_deadline_armed",
        "_head_fed",
        "_head_size",
        "_headers",
        "_idle_fed",
        "_in_head",
        "_messages_begun",
        "_special",
        "_unparsed",
        "_url",
        "app",
        "closed",
        "closing",
        "conn_info",
        "cycles",
        "deadline",
        "discarded",
        "drain",
        "loop",
        "parser",
        "parsing",
        "read_paused",
        "rejected",
        "requests_started",
        "settings",
        "state",
        "transport",
        "write_deadline",
        "write_paused",
        "__weakref__",
    )

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.app = state.app
        self.settings = state.settings
        self.loop = state.loop
        self.transport: asyncio.Transport | None = None
        self._good_host = b""
        self.parser = httptools.HttpRequestParser(self)
        self.cycles: list[Cycle] = []  # rarely more than one: a list is smaller than a deque
        self.parsing: Cycle | None = None
        self.conn_info = ConnInfo()
        self.closed = False
        self.closing = False
        self.rejected = False
        self.write_paused = False
        self.read_paused = False
        self.requests_started = 0
        self.discarded = -1  # bytes dropped after a half-close (-1: not lingering)
        self._messages_begun = 0
        self._idle_fed = 0
        self._chunked = 0  # 0: not a chunked body; 1: its head's piece; 2: counting extension bytes
        self._chunk_headers = 0
        self._chunk_gap = 0
        self._body_fed = 0
        self._drain_waiter: asyncio.Future[None] | None = None
        self._unparsed = b""
        self._context = contextvars.copy_context()
        settings = self.settings
        self._header_cap, self._line_cap = settings.max_header_size, settings.max_line_size
        self._headers_cap = settings.max_headers
        self.deadline = Deadline(self.loop, self._on_read_timeout)
        self.write_deadline = Deadline(self.loop, self._on_write_timeout)
        from .cycle import _Drain

        self.drain = _Drain(self)
        self._reset_head()

    def _reset_head(self) -> None:
        self._in_head = self._head_deadline_armed = False
        self._head_fed = self._head_size = 0
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._special: dict[bytes, list[bytes]] = {}

    # -- connection lifecycle -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # noqa: D102
        self.transport = transport  # type: ignore[assignment]
        state = self.state
        state.connections.add(self)
        transport.set_write_buffer_limits(high=self.settings.write_buffer_high)
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        client_ip, client_port = (peer[0], peer[1]) if isinstance(peer, tuple) else ("", 0)
        server_ip, server_port = (sock[0], sock[1]) if isinstance(sock, tuple) else ("", 0)
        self.conn_info = ConnInfo(
            client_ip, client_port, server_ip, server_port, transport.get_extra_info("sslcontext") is not None
        )
        if state.stopping or (
            self.settings.max_connections and len(state.connections) > self.settings.max_connections
        ):
            self._reject_connection()
            return
        self.deadline.arm(self.settings.keep_alive_timeout)

    def _reject_connection(self) -> None:
        body = b"503 Service Unavailable\n"
        self.write(
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (len(body), body)
        )
        self.rejected = True
        self._linger()  # its request may be on the way: a reset would destroy the 503 before it is read

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        self.closed = True
        self.state.connections.discard(self)
        self.deadline.cancel()
        self.write_deadline.cancel()
        self._wake_drain()
        for cycle in self.cycles:
            if cycle.buffer is not None:
                cycle.buffer.fail(ConnectionClosed("the client closed the connection"))
            if cycle.task is not None and not cycle.task.done() and cycle.stage is not Stage.DONE:
                cycle.task.cancel()
        self.cycles.clear()
        self.parsing = None

    def eof_received(self) -> bool | None:  # noqa: D102
        if self.discarded >= 0:
            return None
        # A half-closed client may still read its answer: keep the socket while a complete request runs.
        cycle = self.parsing
        if cycle is not None and not cycle.complete:
            if cycle.buffer is not None:
                cycle.buffer.fail(ConnectionClosed("the client closed the connection mid-body"))
            return None
        if self.cycles:
            self.closing = True
            return True
        return None

    def _linger(self) -> None:
        """Close after an answer while the client may still be sending (an error, an unread body).

        Closing a socket with unread input makes the kernel send a reset, which can destroy the answer
        before the client reads it. So: half-close (the client sees the end at once), then read and drop
        what still comes for a moment, and close on the client's FIN, the time limit or the byte limit.
        """
        transport = self.transport
        if transport is None or transport.is_closing() or not transport.can_write_eof():
            self.close()
            return
        self.closing = True
        self.discarded = 0
        self._unparsed = b""
        transport.write_eof()
        self.deadline.arm(LINGER_SECONDS)
        if self.read_paused:
            self.read_paused = False
            transport.resume_reading()

    def close(self) -> None:
        """Close after what is buffered has been written."""
        self.closing = True
        self.deadline.cancel()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    # -- writing and its flow control -----------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Hand bytes to the transport (dropped once the connection is closed)."""
        if not self.closed:
            self.transport.write(data)  # type: ignore[union-attr]

    def writelines(self, data: Any) -> None:
        """Hand several byte strings to the transport in order."""
        if not self.closed:
            self.transport.writelines(data)  # type: ignore[union-attr]

    def pause_writing(self) -> None:  # noqa: D102
        self.write_paused = True
        self.write_deadline.arm(self.settings.write_timeout)

    def resume_writing(self) -> None:  # noqa: D102
        self.write_paused = False
        self.write_deadline.disarm()
        self._wake_drain()

    def drain_waiter(self) -> asyncio.Future[None]:
        """A future resolved when the transport's buffer drains (or the connection closes)."""
        if self._drain_waiter is None or self._drain_waiter.done():
            self._drain_waiter = self.loop.create_future()
        return self._drain_waiter

    def _wake_drain(self) -> None:
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _on_write_timeout(self) -> None:
        if self.write_paused and self.transport is not None:
            error_logger.info(
                "Closing a connection whose client stopped reading for %ss", self.settings.write_timeout
            )
            self.transport.abort()

    # -- reading and its flow control -----------------------------------------------------------------
    def data_received(self, data: bytes) -> None:  # noqa: D102
        if self.rejected or self.closing:
            if self.discarded >= 0:
                self.discarded += len(data)
                if self.discarded > LINGER_BYTES:
                    self.close()
            return
        if self._unparsed:
            self._unparsed += data
            return
        self._feed(data)

    def _feed(self, data: bytes) -> None:
        parsing = self.parsing
        if not self._in_head and (
            (parsing is None and not self.cycles and len(data) <= HEAD_STEP)
            or (parsing is not None and len(data) <= FEED_SIZE and not self._blocked())
        ):
            # The common case: a whole small request (or body piece) in one read.
            begun = self._messages_begun
            if not self._parse(data):
                return
            if ((parsing is None and begun == self._messages_begun) or self._chunked) and self._check_fed(
                len(data), False, begun, parsing is None
            ):
                return
            if self._in_head or self.parsing is not None:
                self._arm_read_deadline()
            return
        self._feed_slices(data)

    def _parse(self, piece: bytes | memoryview, rest: bytes | memoryview = b"") -> bool:
        """Feed one piece to the parser; False when parsing stopped (an upgrade, or an error answered).

        *rest* is what follows *piece* in the same read: after an upgrade it belongs to the new protocol.
        """
        try:
            self.parser.feed_data(piece)
        except httptools.HttpParserUpgrade as exc:
            self._upgrade(bytes(piece[exc.args[0] :]) + bytes(rest))
        except NecktieException as exc:
            self._fail(exc)
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            self._fail(cause if isinstance(cause, NecktieException) else BadRequest(f"Bad request: {exc}"))
        else:
            return True
        return False

    def _arm_read_deadline(self) -> None:
        """After a read: a partial head runs against the head deadline, a partial body against the body one."""
        if self._in_head:
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
                self._pause_reading()
                return
            # Outside a body, parse in small steps so that pipelined requests stop being taken at the
            # window's edge instead of at the end of a large read.
            step = FEED_SIZE if self.parsing is not None else HEAD_STEP
            piece = view[offset : offset + step] if offset or size > step else data
            offset += step
            in_head = self._in_head
            begun = self._messages_begun
            idle = self.parsing is None and not in_head
            if not self._parse(piece, view[offset:]):
                return
            if self._check_fed(len(piece), in_head, begun, idle):
                return
        self._arm_read_deadline()

    def _check_fed(self, fed: int, in_head: bool, begun: int, idle: bool) -> bool:
        """Bound the bytes httptools takes without a callback: True if the request was failed.

        A head past its size cap, empty lines between requests, and chunk extensions are all skipped
        or buffered by the parser without telling us, so they are counted here from what was fed.
        """
        if in_head and self._in_head:
            self._head_fed += fed
            if self._head_fed > self.settings.max_line_size + self.settings.max_header_size + 1024:
                self._fail(h1.RequestHeaderFieldsTooLarge("Request header section too large"))
                return True
        elif idle and begun == self._messages_begun and not self._in_head and self.parsing is None:
            self._idle_fed += fed
            if self._idle_fed > self.settings.max_line_size:
                self._fail(BadRequest("Too many empty lines before a request"))
                return True
        return bool(self._chunked) and self._count_chunk_overhead(fed)

    def _count_chunk_overhead(self, fed: int) -> bool:
        """Bound chunk extensions, which httptools skips silently: True if the request was failed.

        Bytes fed minus body bytes is the framing of the chunks read; per chunk header it must stay
        near the extension cap, and bytes without any chunk header must not pile up past it.
        """
        if self._chunked == 1:  # the piece that held the head: its size says nothing about chunks
            self._chunked = 2
        else:
            overhead = fed - self._body_fed
            headers = self._chunk_headers
            self._chunk_gap = overhead // headers if headers else self._chunk_gap + overhead
            if self._chunk_gap > self.settings.max_chunk_extension_size + 64:
                self._fail(BadRequest("Chunk extensions too long"))
                return True
        self._body_fed = 0
        self._chunk_headers = 0
        return False

    def _blocked(self) -> bool:
        parsing = self.parsing
        if parsing is not None and parsing.buffer is not None and parsing.buffer.full:
            return True
        return len(self.cycles) > self.settings.pipeline_max_requests

    def _pause_reading(self) -> None:
        if not self.read_paused and self.transport is not None:
            self.read_paused = True
            self.transport.pause_reading()

    def maybe_resume(self) -> None:
        """Resume reading once nothing blocks it any more (a buffer drained, a request finished)."""
        if self.closed or self.rejected or self._blocked():
            return
        if self._unparsed:
            # Parse what was already read before reading more: resuming first lets new reads pile up
            # behind it (each appended to it), so a large upload grew it without bound.
            self.loop.call_soon(self._feed_unparsed, context=self._context)
            return
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()  # type: ignore[union-attr]

    def _feed_unparsed(self) -> None:
        data, self._unparsed = self._unparsed, b""
        if data and not self.closed and not self.rejected:
            self._feed(data)
            self.maybe_resume()

    # -- parser callbacks -----------------------------------------------------------------------------
    def on_message_begin(self) -> None:  # noqa: D102
        # As _reset_head(), inline: this runs for every request.
        self._head_deadline_armed = False
        self._head_fed = self._head_size = self._idle_fed = 0
        self._url = b""
        self._headers = []
        self._special = {}
        self._messages_begun += 1
        self._in_head = True

    def on_url(self, url: bytes) -> None:  # noqa: D102
        self._url += url
        if len(self._url) > self.settings.max_line_size:
            raise h1.URITooLong("Request target too long")

    def on_header(self, name: bytes, value: bytes) -> None:  # noqa: D102
        size = self._head_size = self._head_size + len(name) + len(value) + 4
        if size > self._header_cap or len(value) > self._line_cap or len(self._headers) >= self._headers_cap:
            raise h1.RequestHeaderFieldsTooLarge("Request header fields too large")
        if not self._in_head:
            return  # a trailer of a chunked body: counted, never added to the request's headers
        if value and value[-1] in _OWS:
            value = value.rstrip(b" \t")  # the parser strips leading whitespace only (RFC 9110 §5.5)
        self._headers.append((name, value))
        if len(name) in _SPECIAL_LENGTHS:
            lname = name.lower()
            if lname in _FRAMING_HEADERS:
                self._special.setdefault(lname, []).append(value)

    def on_headers_complete(self) -> None:  # noqa: D102
        parser = self.parser
        self._in_head = False
        version = parser.get_http_version()
        if version != "1.1" and version != "1.0":
            if version == "0.9":
                raise BadRequest("HTTP/0.9 is not supported")
            h1.check_version(version)
        special = self._special
        hosts = special.get(b"host")
        if hosts is None or len(hosts) != 1 or hosts[0] != self._good_host:
            h1.check_host(hosts or [], version)
            if hosts:
                self._good_host = hosts[0]
        method = parser.get_method()
        target = self._url
        authority = None
        if target[:1] != b"/" or method == b"CONNECT":
            target, authority = h1.split_target(target, method)
        headers = self._headers
        if authority is not None:
            headers = _with_host(headers, authority)
        keep_alive = self.settings.keep_alive and parser.should_keep_alive() and not self.state.stopping
        request = Request(
            self.app, _METHODS.get(method) or method.decode("ascii"), target, version, headers, self.conn_info
        )
        cycle = Cycle(self, request, keep_alive)
        max_requests = self.settings.keep_alive_max_requests
        self.requests_started += 1
        if max_requests and self.requests_started >= max_requests:
            cycle.keep_alive = False
        self.parsing = cycle
        self.cycles.append(cycle)
        length = None
        try:
            if len(special) == (hosts is not None):
                # Neither a body nor an expectation: the common GET.
                route = self.app.match(request) if target != b"*" else _options(cycle)
            else:
                if b"transfer-encoding" in special:
                    if b"content-length" in special:
                        raise BadRequest("Both Content-Length and Transfer-Encoding")
                    h1.check_transfer_encoding(special[b"transfer-encoding"])
                    self._chunked = 1
                    self._chunk_gap = 0
                elif b"content-length" in special:
                    length = h1.parse_content_length(special[b"content-length"])
                route = self.app.match(request) if target != b"*" else _options(cycle)
                cycle.limit = self.app.body_limit(route)
                refuse_at_head(route, length, cycle.limit)
                cycle.expect_continue = h1.check_expect(special.get(b"expect", []), version)
        except NecktieException as exc:
            cycle.error = exc
            cycle.keep_alive = False
            self.rejected = True
            self._activate()
            raise _Stop() from None
        if route is not None and route.stream:
            buffer = cycle.buffer = BodyBuffer(self.settings.request_buffer_size)
            buffer.on_drained = self.maybe_resume
            buffer.on_wait = self._on_body_wait
            request.stream = self.app.make_stream(request, buffer, length)
            if cycle.expect_continue:
                buffer.on_first_read = cycle_continue(cycle)
            if self.cycles[0] is cycle:
                self._activate()
        elif cycle.expect_continue and self.cycles[0] is cycle:
            self._activate()

    def on_chunk_header(self) -> None:  # noqa: D102
        self._chunk_headers += 1

    def on_body(self, body: bytes) -> None:  # noqa: D102
        self._body_fed += len(body)
        cycle = self.parsing
        if cycle is None:
            return
        buffer = cycle.buffer
        if buffer is not None:
            buffer.feed(body)
        else:
            cycle.received += len(body)
            if cycle.limit is not None and cycle.received > cycle.limit:
                raise PayloadTooLarge(f"Request body exceeds the limit of {cycle.limit} bytes")
            parts = cycle.parts
            if parts is None:
                cycle.parts = [body]
            elif len(body) < SMALL_CHUNK and len(parts[-1]) < SMALL_CHUNK:
                # Tiny chunks are joined as they come, so a body of many 1-byte chunks is not a list of them.
                tail = parts[-1]
                if type(tail) is bytes:
                    tail = parts[-1] = bytearray(tail)
                tail += body
            else:
                parts.append(body)

    def on_message_complete(self) -> None:  # noqa: D102
        cycle = self.parsing
        if cycle is None:
            return
        cycle.complete = True
        self.parsing = None
        self._chunked = 0
        if cycle.buffer is not None:
            cycle.buffer.finish()
        else:
            parts = cycle.parts
            if parts is not None:
                cycle.request.body = bytes(parts[0]) if len(parts) == 1 else b"".join(parts)  # type: ignore[union-attr]
                cycle.parts = None
        self.deadline.disarm()
        if cycle.task is None and self.cycles[0] is cycle:
            self._activate()

    # -- running requests -----------------------------------------------------------------------------
    def _activate(self) -> None:
        """Start the request at the front of the line if it is ready, or answer its error."""
        if not self.cycles:
            return
        cycle = self.cycles[0]
        if cycle.task is not None or cycle.stage is not Stage.IDLE:
            return
        if cycle.error is not None:
            cycle.send_error_now(render_error(cycle.request, cycle.error, self.settings.debug))
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
        # A task of its own, with a fresh copy of the connection's context: nothing a handler sets in its
        # context is seen by the next request on this connection.
        cycle.task = self.loop.create_task(
            self.app.handle(cycle.request, cycle),
            context=self._context.copy(),  # type: ignore[arg-type]
        )

    def response_done(self, cycle: Cycle, abort: bool = False) -> None:
        """A response is complete (or abandoned): go on with the next request, or close."""
        cycles = self.cycles
        if cycles and cycles[0] is cycle:
            del cycles[0]
        if self.state.access_log is not None and cycle.request is not None:
            self.state.access_log(cycle)
        if abort or not cycle.keep_alive or not cycle.complete or self.closing or self.closed:
            unread = self.rejected or not cycle.complete
            self.rejected = True
            if unread:
                self._linger()
            else:
                self.close()
            return
        if cycles:
            self._activate()
        elif self.parsing is None and not self._in_head:
            self.deadline.arm(self.settings.keep_alive_timeout)
        if self.read_paused or self._unparsed:
            self.maybe_resume()

    # -- failures -------------------------------------------------------------------------------------
    def _fail(self, exc: NecktieException) -> None:
        """The input cannot be parsed any further: answer once, in order, then close."""
        self.rejected = True
        self._unparsed = b""
        if self.discarded < 0:  # not if the answer already went out and the rest is being dropped
            self._pause_reading()
        if isinstance(exc, _Stop):
            return
        cycle = self.parsing
        if cycle is not None and not cycle.complete:
            cycle.keep_alive = False
            if cycle.task is not None:
                if cycle.buffer is not None:
                    cycle.buffer.fail(exc)
                return
            cycle.error = exc
        else:
            cycle = Cycle(self, None, False)
            cycle.error = exc
            self.cycles.append(cycle)
        if self.cycles[0] is cycle:
            self._activate()

    def _upgrade(self, rest: bytes) -> None:
        # A websocket route takes the connection over; any other upgrade: answer what was parsed, then close.
        if websocket.take_over(self, rest):
            return
        self.rejected = True
        self._pause_reading()
        for cycle in self.cycles:
            cycle.keep_alive = False
        if not self.cycles:
            self.close()

    def _on_body_wait(self) -> None:
        self.deadline.arm(self.settings.body_timeout)

    def _on_read_timeout(self) -> None:
        if self.closed:
            return
        if self.discarded >= 0:
            self.close()
            return
        if self.read_paused or self._unparsed:
            # Not reading is the server's own back-pressure (a slow handler, a full pipeline): not the
            # client's delay. The clock starts again when reading does.
            self.deadline.arm(self.settings.request_timeout if self._in_head else self.settings.body_timeout)
            return
        if self._in_head:
            self._fail(RequestTimeout("Request header timeout"))
            return
        cycle = self.parsing
        if cycle is not None and not cycle.complete:
            self._fail(RequestTimeout("Request body timeout"))
            return
        if not self.cycles:
            self.close()

    def shutdown(self) -> None:
        """Close now if idle; otherwise after the response in progress."""
        if not self.cycles and self.parsing is None:
            self.close()
        else:
            for cycle in self.cycles:
                cycle.keep_alive = False


def _with_host(headers: list[tuple[bytes, bytes]], authority: bytes) -> list[tuple[bytes, bytes]]:
    """*headers* with ``Host`` set to *authority*: an absolute-form target's authority wins (RFC 9112 §3.2.2)."""
    kept = [(name, value) for name, value in headers if name.lower() != b"host"]
    kept.append((b"Host", authority))
    return kept


def _options(cycle: Cycle) -> None:
    """``OPTIONS *`` is the server's to answer (with its methods): no route runs."""
    cycle.reply = HTTPResponse(b"", 200, {"allow": "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"})


class _Stop(NecktieException):
    """Raised inside a parser callback to stop parsing after the error was already handled."""


def cycle_continue(cycle: Cycle) -> Any:
    """A callback that sends ``100 Continue`` for *cycle* unless its body is already here."""

    def send() -> None:
        if not cycle.complete and cycle.stage is Stage.IDLE:
            cycle.protocol.write(h1.CONTINUE)

    return send


_OWS = (32, 9)
_FRAMING_HEADERS = frozenset({b"host", b"content-length", b"transfer-encoding", b"expect"})
_METHODS = {m.encode(): m for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")}
_SPECIAL_LENGTHS = frozenset(len(name) for name in _FRAMING_HEADERS)
