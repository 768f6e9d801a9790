"""One request/response exchange on a connection: the server's side of the pipeline's `ResponseSink`.

The framing of the body (Content-Length, chunked, or ended by closing for HTTP/1.0) is chosen once, when
the head goes out; after that each write only frames and hands bytes to the transport.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Generator
from enum import Enum
from time import perf_counter
from typing import IO, TYPE_CHECKING, Any

from pynecktie.exceptions import ConnectionClosed
from pynecktie.headers import Headers
from pynecktie.request import Request
from pynecktie.response import BaseHTTPResponse, HTTPResponse

from . import h1
from .body import BodyBuffer

if TYPE_CHECKING:
    from .protocol import HttpProtocol

error_logger = logging.getLogger("necktie.error")

_NO_BODY_STATUSES = frozenset({204, 304})


class Stage(Enum):
    """Where the response of a cycle stands."""

    IDLE = 0  # nothing sent yet
    STREAMING = 1  # head sent, body being written
    DONE = 2  # response complete (or abandoned)


class Framing(Enum):
    """How the body of a streamed response is delimited, decided when its head is sent."""

    NONE = 0  # no body may be sent (HEAD, 204, 304)
    CHUNKED = 1
    LENGTH = 2  # the application declared Content-Length
    CLOSE = 3  # HTTP/1.0: the body ends when the connection closes


class _Drain:
    """What ``write`` returns: awaiting it waits while the transport's buffer is above its high-water mark."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: HttpProtocol) -> None:
        self._protocol = protocol

    def __await__(self) -> Generator[Any, None, None]:
        protocol = self._protocol
        while protocol.write_paused and not protocol.closed:
            yield from protocol.drain_waiter().__await__()
        if protocol.closed:
            raise ConnectionClosed("the client closed the connection")


class Cycle:
    """A request's progress through the server and the sink its response goes to."""

    # Class-level defaults: a cycle only stores what differs for it, so creating one per request is cheap.
    buffer: BodyBuffer | None = None
    parts: list[bytes] | None = None
    received = 0
    limit: int | None = None
    complete = False
    expect_continue = False
    task: asyncio.Task[None] | None = None
    stage = Stage.IDLE
    framing = Framing.NONE
    remaining = 0
    sent = 0
    error: BaseException | None = None
    status = 0
    reply: HTTPResponse | None = None  # a canned answer the server gives itself (OPTIONS *)

    def __init__(self, protocol: HttpProtocol, request: Request | None, keep_alive: bool) -> None:
        self.protocol = protocol
        self.request = request
        self.keep_alive = keep_alive
        self.is_head = request is not None and request.method == "HEAD"
        self.began = perf_counter()  # for the access log's duration

    # -- ResponseSink ---------------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        """True once a response head has been sent."""
        return self.stage is not Stage.IDLE

    def _connection_line(self) -> str:
        return self._connection_bytes().decode("latin-1")

    def _connection_bytes(self) -> bytes:
        """The end of the head: whether the connection stays open, decided now."""
        if (
            not self.keep_alive
            or self.protocol.closing
            or not self.complete
            or (self.buffer is not None and not self.buffer.consumed)
        ):
            # An answer before the whole request body was read ends the connection: the rest is unread.
            self.keep_alive = False
            return b"connection: close\r\n\r\n"
        if self.request is not None and self.request.version == "1.0":
            return b"connection: keep-alive\r\n\r\n"
        return b"\r\n"

    async def send(self, response: BaseHTTPResponse, body: bytes) -> None:
        """Send a complete response in one write."""
        status = response.status
        if (
            response._headers is None
            and self.stage is Stage.IDLE
            and not self.is_head
            and 200 <= status < 600
            and status != 204
            and status != 304
        ):
            self._send_simple(status, response.content_type, body)  # the common case, one call shorter
        else:
            self.send_now(response, body)

    def send_now(self, response: BaseHTTPResponse, body: bytes) -> None:
        """Send a complete response in one write, synchronously (also for errors no handler saw)."""
        if self.stage is not Stage.IDLE:
            raise RuntimeError("a response was already sent for this request")
        status = response.status
        headers = response._headers
        if not headers and not self.is_head and 200 <= status < 600 and status not in _NO_BODY_STATUSES:
            self._send_simple(status, response.content_type, body)
            return
        no_body = status in _NO_BODY_STATUSES or status < 200
        if headers and _has_framing(headers):
            headers = _without_framing(headers)
        content_type = response.content_type
        if headers and h1.has_header(headers, "content-type"):
            content_type = None
        if no_body:
            framing = f"date: {h1.http_date()}\r\n"
            body = b""
            content_type = None
        else:
            framing = f"content-length: {len(body)}\r\ndate: {h1.http_date()}\r\n"
        try:
            head = h1.encode_head(status, content_type, headers, framing + self._connection_line())
        except ValueError as exc:
            self._invalid_response(exc)
            return
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

    def _send_simple(self, status: int, content_type: str | None, body: bytes) -> None:
        """The common response: no headers of the application's own, a body allowed."""
        prefix = h1.PREFIXES.get((status, content_type))
        if prefix is None:
            try:
                prefix = h1.simple_head_prefix(status, content_type)
            except ValueError as exc:
                self._invalid_response(exc)
                return
        head = b"%s%d\r\ndate: %s\r\n%s" % (prefix, len(body), h1.http_date_bytes(), self._connection_bytes())
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
        if self.stage is not Stage.IDLE:
            raise RuntimeError("a response was already sent for this request")
        status = response.status
        headers = response._headers
        content_type = response.content_type
        if headers and h1.has_header(headers, "content-type"):
            content_type = None
        framing = ""
        declared = headers.get("content-length") if headers else None
        if status in _NO_BODY_STATUSES or status < 200:
            self.framing = Framing.NONE
            headers = _without_framing(headers) if headers else headers
            content_type = None
        elif declared is not None and declared.isdigit():
            self.framing = Framing.LENGTH
            self.remaining = int(declared)
            headers = _without_framing(headers)
            framing = f"content-length: {self.remaining}\r\n"
        elif self.request is not None and self.request.version == "1.0":
            self.framing = Framing.CLOSE
            self.keep_alive = False
            headers = _without_framing(headers) if headers else headers
        else:
            self.framing = Framing.CHUNKED
            headers = _without_framing(headers) if headers else headers
            framing = "transfer-encoding: chunked\r\n"
        if self.is_head:
            self.framing = Framing.NONE
        framing += f"date: {h1.http_date()}\r\n"
        try:
            head = h1.encode_head(status, content_type, headers, framing + self._connection_line())
        except ValueError as exc:
            self._invalid_response(exc)
            raise ConnectionClosed("the response head was invalid and a 500 was sent instead") from exc
        self.status = status
        self.stage = Stage.STREAMING
        self.protocol.write(head)

    def write(self, data: bytes) -> Awaitable[None]:
        """Frame and send *data* now; the result, when awaited, waits for the transport to drain."""
        protocol = self.protocol
        if self.stage is not Stage.STREAMING or protocol.closed:
            if protocol.closed:
                return protocol.drain
            raise RuntimeError("write() outside of a streamed response")
        if not data:
            return protocol.drain
        framing = self.framing
        if framing is Framing.CHUNKED:
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
            return protocol.drain
        self.sent += len(data)
        return protocol.drain

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
            self.keep_alive = False
        elif self.framing is Framing.CLOSE:
            self.keep_alive = False
        self.stage = Stage.DONE
        self.protocol.response_done(self)

    def abort(self) -> None:
        """The body cannot be finished: close without the terminating chunk so the client sees it cut."""
        if self.stage is Stage.DONE:
            return
        self.stage = Stage.DONE
        self.keep_alive = False
        self.protocol.response_done(self, abort=True)

    # -- helpers --------------------------------------------------------------------------------------
    def _invalid_response(self, exc: Exception) -> None:
        error_logger.error("Invalid response for %r: %s", self.request, exc, extra={"request": self.request})
        self.keep_alive = False
        body = b"500 Internal Server Error\n"
        head = (
            f"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain; charset=utf-8\r\n"
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


def _has_framing(headers: Headers) -> bool:
    return any(k.lower() in ("content-length", "transfer-encoding") for k, _ in headers._items)


def _without_framing(headers: Headers) -> Headers:
    return Headers(
        (k, v) for k, v in headers._items if k.lower() not in ("content-length", "transfer-encoding")
    )
