"""One request/response exchange on a connection: the server's side of the pipeline's `ResponseSink`.

The framing of the body (Content-Length, chunked, or ended by closing for HTTP/1.0) is chosen once, when
the head goes out; after that each write only frames and hands bytes to the transport.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from enum import Enum
from time import perf_counter
from time import time as _now
from typing import IO, TYPE_CHECKING

from pynecktie.exceptions import ConnectionClosed
from pynecktie.heads import (
    ALREADY_SENT,
    ERROR_BODY,
    ERROR_CONTENT_TYPE,
    INVALID_HEAD_SENT_500,
    NO_BODY_STATUSES,
    NOT_STREAMING,
    SHORT_BODY,
    InvalidResponse,
    plan_head,
    plan_response,
)
from pynecktie.heads import Stage as Stage  # re-exported: the protocol and websocket modules read it here
from pynecktie.request import Request
from pynecktie.response import BaseHTTPResponse, HTTPResponse

from . import h1
from .body import BodyBuffer
from .h1 import DATE, PREFIXES

if TYPE_CHECKING:
    from .protocol import HttpProtocol

error_logger = logging.getLogger("necktie.error")


class Framing(Enum):
    """How the body of a streamed response is delimited, decided when its head is sent."""

    NONE = 0  # no body may be sent (HEAD, 204, 304)
    CHUNKED = 1
    LENGTH = 2  # the application declared Content-Length
    CLOSE = 3  # HTTP/1.0: the body ends when the connection closes


class Cycle:
    """A request's progress through the server and the sink its response goes to."""

    # Class-level defaults: a cycle only stores what differs for it, so creating one per request is cheap.
    buffer: BodyBuffer | None = None
    parts: list[bytes | bytearray] | None = None  # a buffered body so far (tiny pieces joined in a bytearray)
    received = 0
    limit: int | None = None
    complete = False
    expect_continue = False
    discarding = False  # answered before the body ended: its rest is read and dropped, the connection goes on
    task: asyncio.Task[None] | None = None
    stage = Stage.IDLE
    framing = Framing.NONE
    remaining = 0
    sent = 0
    error: BaseException | None = None
    status = 0
    reply: HTTPResponse | None = None  # a canned answer the server gives itself (OPTIONS *)
    aborted = False  # given up before its end (`abort`)
    began = 0.0  # perf_counter() at the head, when there is an access log or metrics

    def __init__(self, protocol: HttpProtocol, request: Request | None, keep_alive: bool) -> None:
        self.protocol = protocol
        self.request = request
        self.keep_alive = keep_alive
        self.is_head = request is not None and request.method == "HEAD"
        server = protocol.server
        if server.access_log is not None or server.stats is not None:
            self.began = perf_counter()  # for their durations (a clock read only when one of them is on)

    # -- ResponseSink ---------------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        """True once a response head has been sent."""
        return self.stage is not Stage.IDLE

    def _connection_bytes(self) -> bytes:
        """The end of a complete response's head: whether the connection stays open, decided now (its end)."""
        if not self.keep_alive or not self.complete:
            # An answer before the whole request body arrived ends the connection: the rest is unread.
            self.keep_alive = False
            return b"connection: close\r\n\r\n"
        if self.request is not None and self.request.version == "1.0":
            return b"connection: keep-alive\r\n\r\n"
        return b"\r\n"

    def _streamed_connection_line(self) -> str:
        """The end of a streamed response's head: ``close`` only when that is already certain.

        A full-duplex handler reads the request body while its response streams, so whether the body is
        complete is decided when the response ends (`end`), not here.
        """
        if not self.keep_alive:
            return "connection: close\r\n\r\n"
        if self.request is not None and self.request.version == "1.0":
            return "connection: keep-alive\r\n\r\n"
        return "\r\n"

    def _drop_the_rest(self) -> bool:
        """At the end of a streamed response whose request body has not all arrived: may the connection go
        on? (A complete response sent before the body, an error page most often, closes it.)

        It may when the rest is read and dropped: on a stream route (its buffer drops it), with the client
        not waiting for a ``100 Continue`` it never got, and a declared length whose remainder is within
        what the server reads and drops after an answer anyway (``LINGER_BYTES``). A chunked body's rest
        has no known size: the connection closes.
        """
        buffer, request = self.buffer, self.request
        if self.discarding or buffer is None or request is None or self._awaits_continue():
            return self.discarding
        from .ending import LINGER_BYTES

        declared = request.headers.get("content-length")
        if declared is None or int(declared) - buffer.fed > LINGER_BYTES:
            return False
        buffer.discard()
        self.discarding = True
        return True

    def _awaits_continue(self) -> bool:
        """A stream route's client still waits for ``100 Continue``: the buffer's first-read hook (which
        sends it) is set for such a request and gone once the handler has read."""
        buffer = self.buffer
        return self.expect_continue and buffer is not None and buffer.on_first_read is not None

    def _continue_before_head(self) -> bytes:
        """``100 Continue`` when a stream route's head goes out while the client still waits for it.

        The handler started its response before its first ``get()``: without the 100, a client such as
        curl would wait for its own timeout before sending the body the handler is about to read. Not
        when the declared length is over the limit: the first ``get()`` will refuse it.
        """
        if not self._awaits_continue() or self.complete:
            return b""
        self.expect_continue = False
        stream = self.request.stream if self.request is not None else None
        if stream is not None and stream.refuses_declared:
            return b""
        return h1.CONTINUE

    async def send(self, response: BaseHTTPResponse, body: bytes) -> None:
        """Send a complete response in one write."""
        status = response.status
        if (
            response._headers is None
            and self.stage is Stage.IDLE
            and not self.is_head
            and 200 <= status < 600
            and status not in NO_BODY_STATUSES
        ):
            self._send_simple(status, response.content_type, body)  # the common case, one call shorter
        else:
            self.send_now(response, body)

    def send_now(self, response: BaseHTTPResponse, body: bytes) -> None:
        """Send a complete response in one write, synchronously (also for errors no handler saw)."""
        if self.stage is not Stage.IDLE:
            raise RuntimeError(ALREADY_SENT)
        status = response.status
        headers = response._headers
        if not self.is_head and 200 <= status < 600 and status not in NO_BODY_STATUSES:
            lines = h1.field_lines(headers) if headers is not None else b""
            if lines is not None:  # headers of the application's own, sent as they are: still one line short
                self._send_simple(status, response.content_type, body, lines)
                return
        try:
            plan = plan_head(status, response.content_type, headers)
        except InvalidResponse as exc:
            self._invalid_response(exc)
            return
        if plan.body:
            framing = f"content-length: {len(body)}\r\ndate: {h1.http_date()}\r\n"
        else:
            framing = f"date: {h1.http_date()}\r\n"
            body = b""
        connection = self._connection_bytes().decode("latin-1")
        head = h1.encode_head(status, plan.content_type, plan.fields, framing + connection)
        self.status = status
        self.sent = 0 if self.is_head else len(body)  # what went on the wire
        protocol = self.protocol
        if self.is_head or not body:
            protocol.write(head)
        elif len(body) < 16384:
            protocol.write(head + body)
        else:
            protocol.writelines((head, body))
        self.stage = Stage.DONE
        protocol.response_done(self)

    def _send_simple(self, status: int, content_type: str | None, body: bytes, lines: bytes = b"") -> None:
        """The common response: a body allowed, no headers of the application's own but *lines* (as
        `h1.field_lines` encodes them; they go after the status line, as `h1.encode_head` puts them)."""
        prefix = PREFIXES.get((status, content_type))
        if prefix is None:
            try:
                prefix = h1.simple_head_prefix(status, content_type)
            except ValueError as exc:
                self._invalid_response(exc)
                return
        if not DATE[0] <= _now() < DATE[1]:  # (h1.http_date_bytes, inline: a call less per response)
            h1.refresh_date()
        if lines:  # after the status line
            cut = prefix.index(b"\r\n") + 2
            start, rest, end = prefix[:cut], prefix[cut:], self._connection_bytes()
            head = b"%s%s%s%d\r\ndate: %s\r\n%s" % (start, lines, rest, len(body), DATE[3], end)
        else:
            head = b"%s%d\r\ndate: %s\r\n%s" % (prefix, len(body), DATE[3], self._connection_bytes())
        self.status = status
        self.sent = len(body)
        if len(body) < 16384:
            self.protocol.write(head + body)
        else:
            self.protocol.writelines((head, body))
        self.stage = Stage.DONE
        self.protocol.response_done(self)

    async def start(self, response: BaseHTTPResponse) -> None:
        """Send the head of a streamed response, choosing its framing."""
        status = response.status
        try:
            plan = plan_response(self.stage, response, streamed=True)
        except InvalidResponse as exc:
            self._invalid_response(exc)
            raise ConnectionClosed(INVALID_HEAD_SENT_500) from exc
        framing = ""
        if not plan.body:
            self.framing = Framing.NONE
        elif plan.length is not None:
            self.framing = Framing.LENGTH
            self.remaining = plan.length
            framing = f"content-length: {plan.length}\r\n"
        elif self.request is not None and self.request.version == "1.0":
            self.framing = Framing.CLOSE
            self.keep_alive = False
        else:
            self.framing = Framing.CHUNKED
            framing = "transfer-encoding: chunked\r\n"
        if self.is_head:
            self.framing = Framing.NONE
        framing += f"date: {h1.http_date()}\r\n{self._streamed_connection_line()}"
        head = h1.encode_head(status, plan.content_type, plan.fields, framing)
        self.status = status
        self.stage = Stage.STREAMING
        self.protocol.write(self._continue_before_head() + head)

    def write(self, data: bytes) -> Awaitable[None]:
        """Frame and send *data* now; the result, when awaited, waits for the transport to drain."""
        protocol = self.protocol
        if self.stage is not Stage.STREAMING or protocol.closed:
            if protocol.closed:
                return protocol.flow.drain
            raise RuntimeError(NOT_STREAMING)
        if not data:
            return protocol.flow.drain
        framing = self.framing
        if framing is Framing.CHUNKED:
            if len(data) < 16384:  # one buffer: uvloop sends it with write(); several go through uv_write
                protocol.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                protocol.writelines((b"%x\r\n" % len(data), data, b"\r\n"))
        elif framing is Framing.LENGTH:
            if len(data) > self.remaining:
                data = data[: self.remaining]
                self.keep_alive = False
            self.remaining -= len(data)
            if data:
                protocol.write(data)
        elif framing is Framing.CLOSE:
            protocol.write(data)
        else:
            return protocol.flow.drain
        self.sent += len(data)
        return protocol.flow.drain

    async def send_file(self, response: BaseHTTPResponse, file: IO[bytes], offset: int, count: int) -> None:
        """Send a file response: the head (declaring ``Content-Length: count``), then the body by `files`."""
        await self.start(response)
        if self.framing is not Framing.NONE and count:
            from .files import send_body

            await send_body(self, file, offset, count, getattr(response, "chunk_size", 262_144))
        await self.end()

    async def end(self) -> None:
        """End the streamed body (the last chunk; a short Content-Length body closes the connection)."""
        if self.stage is not Stage.STREAMING:
            return
        if self.framing is Framing.CHUNKED:
            if not self.protocol.closed:
                self.protocol.write(h1.LAST_CHUNK)
        elif self.framing is Framing.LENGTH and self.remaining:
            error_logger.error(SHORT_BODY, self.remaining)
            self.keep_alive = False
        elif self.framing is Framing.CLOSE:
            self.keep_alive = False
        if not self.complete and not self._drop_the_rest():
            self.keep_alive = False  # too much of the request body left unread: decided at the end
        self.stage = Stage.DONE
        self.protocol.response_done(self)

    def abort(self) -> None:
        """The body cannot be finished: close without the terminating chunk so the client sees it cut."""
        if self.stage is Stage.DONE:
            return
        self.stage = Stage.DONE
        self.keep_alive = False
        self.aborted = True
        self.protocol.response_done(self, abort=True)

    # -- helpers --------------------------------------------------------------------------------------
    def _invalid_response(self, exc: Exception) -> None:
        error_logger.error("Invalid response for %r: %s", self.request, exc, extra={"request": self.request})
        self.keep_alive = False
        body = ERROR_BODY
        head = (
            f"HTTP/1.1 500 Internal Server Error\r\ncontent-type: {ERROR_CONTENT_TYPE}\r\n"
            f"content-length: {len(body)}\r\ndate: {h1.http_date()}\r\nconnection: close\r\n\r\n"
        ).encode()
        self.status = 500
        self.protocol.write(head if self.is_head else head + body)
        self.stage = Stage.DONE
        self.protocol.response_done(self)

    def send_error_now(self, response: HTTPResponse) -> None:
        """Write an error response and close (for requests rejected before any handler runs)."""
        self.keep_alive = False
        self.send_now(response, response.body)
