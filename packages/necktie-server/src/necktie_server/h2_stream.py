"""One HTTP/2 stream: a request through the same pipeline as HTTP/1.1, its body source and its response sink.

The request body arrives in DATA frames (`feed`) and waits in a `BodyBuffer` until the handler takes it;
the stream's flow-control window is given back as the handler takes it (`receive`), not as it arrives, so
a handler that does not read stops its own stream's window updates and nothing else. The response goes
into ``out``, a queue the connection sends from as the client's windows allow (`Http2Connection.pump`);
an awaited write waits while more than ``STREAM_HIGH`` bytes are queued or the transport is full, and a
stream whose queue cannot move for ``WRITE_TIMEOUT`` (a client that never opens its window) is reset.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Generator
from time import perf_counter
from typing import TYPE_CHECKING, Any

from h2.errors import ErrorCodes
from pynecktie.asgi_streams import complete_head
from pynecktie.body_limit import refuse_at_head
from pynecktie.cors import add_cors_headers
from pynecktie.errorpages import render_error
from pynecktie.exceptions import ConnectionClosed, NecktieException, PayloadTooLarge, RequestTimeout
from pynecktie.heads import (
    ERROR_BODY,
    ERROR_CONTENT_TYPE,
    INVALID_HEAD_SENT_500,
    NOT_STREAMING,
    SHORT_BODY,
    InvalidResponse,
    Stage,
    plan_response,
)
from pynecktie.request import Request
from pynecktie.response import BaseHTTPResponse, HTTPResponse

from .body import BodyBuffer
from .h1 import http_date_bytes
from .h2_headers import CONNECTION_SPECIFIC_BYTES, declared_length, response_headers
from .timers import Deadline

if TYPE_CHECKING:
    from .h2_connection import Http2Connection

error_logger = logging.getLogger("necktie.error")

STREAM_HIGH = 1 << 16  # queued response bytes past which an awaited write waits
YIELD_EVERY = 16  # an awaited write that never waits still gives the loop a turn this often
_NO_LIMIT = 1 << 62  # the buffer's own limit: the stream's window bounds what it holds


class H2Stream:
    """A stream's request, its body (a `BodySource`) and its response (a `ResponseSink`)."""

    __slots__ = ("conn", "id", "request", "task", "began", "status", "sent", "is_head", "stage", "body",
                 "unacked", "out", "offset", "queued", "end_pending", "remote_ended", "reset", "finished",
                 "_remaining", "_drop_body", "_waiter", "_unyielded", "_stall", "_body_deadline",
                 "_continue")  # fmt: skip

    def __init__(self, conn: Http2Connection, stream_id: int) -> None:
        self.conn = conn
        self.id = stream_id
        self.request: Request | None = None
        self.task: asyncio.Task[None] | None = None
        self.began = perf_counter()  # for the access log (which reads request, status, sent, began)
        self.status = 0
        self.sent = 0
        self.is_head = False
        self.stage = Stage.IDLE
        self.body: BodyBuffer | None = None
        self.unacked = 0  # body bytes taken by the handler and not yet given back to the client's window
        self.out: deque[bytes] = deque()
        self.offset = 0  # bytes of out[0] already sent
        self.queued = 0  # bytes in out not sent yet
        self.end_pending = False  # END_STREAM goes out once out is empty
        self.remote_ended = False  # the client ended its side (the whole body arrived)
        self.reset = False  # reset by either side, or the connection is gone: nothing more is sent
        self.finished = False  # the response went out whole (END_STREAM sent)
        self._remaining: int | None = None
        self._drop_body = False
        self._waiter: asyncio.Future[None] | None = None
        self._unyielded = 0
        self._stall: Deadline | None = None
        self._body_deadline: Deadline | None = None
        self._continue = False

    # -- the request ------------------------------------------------------------------------------------
    def open(self, request: Request, ended: bool) -> None:
        """Route *request* (the client ended its side already when *ended*) and start its handler."""
        conn = self.conn
        app = conn.app
        self.request = request
        self.is_head = request.method == "HEAD"
        route = app.match(request)
        self.remote_ended = ended
        if not ended or (route is not None and route.stream):
            declared = declared_length(request)
            try:
                refuse_at_head(route, declared, app.body_limit(route))
            except PayloadTooLarge as exc:
                self.refuse(exc)
                return
            body = self.body = BodyBuffer(_NO_LIMIT)
            body.on_wait = self._on_body_wait
            if ended:
                body.finish()
            elif request.headers.get("expect", "").lower() == "100-continue":
                self._continue = True
                body.on_first_read = self._send_continue
            request.stream = app.make_stream(request, self, declared)
        self.task = conn.spawn(app.handle(request, self))

    def refuse(self, exc: NecktieException) -> None:
        """Answer an error no handler sees (a head over the limits, a body declared too large)."""
        response = render_error(self.request, exc, self.conn.settings.debug)
        add_cors_headers(self.request, response)
        self._send_complete(response, response.body)

    async def receive(self) -> bytes | None:
        """The body's next chunk (`BodySource`); taking it gives its room in the window back to the client."""
        chunk = await self.body.receive()  # type: ignore[union-attr]  # a stream exists only with a body
        if chunk:
            self.taken(len(chunk))
        return chunk

    def feed(self, data: bytes, flow_controlled: int) -> None:
        """A DATA frame's payload arrived (*flow_controlled* counts its padding too)."""
        body = self.body
        if body is None or self.reset:
            self.taken(flow_controlled)
            return
        if data:  # (an empty frame wakes no reader, which would re-arm the deadline: it stays)
            if self._body_deadline is not None:
                self._body_deadline.disarm()
            body.feed(data)
        if flow_controlled > len(data):
            self.taken(flow_controlled - len(data))  # padding: nobody will read it

    def taken(self, size: int) -> None:
        """*size* body bytes are out of the buffer: give them back once they make half the window."""
        self.unacked += size
        if self.unacked >= self.conn.window_step and not self.remote_ended and not self.reset:
            self.conn.open_window(self.id, self.unacked)
            self.unacked = 0

    def ended(self) -> None:
        """The client ended its side."""
        self.remote_ended = True
        if self.body is not None:
            self.body.finish()
        if self._body_deadline is not None:
            self._body_deadline.cancel()

    def _on_body_wait(self) -> None:
        timeout = self.conn.settings.body_timeout
        if timeout and not self.remote_ended:
            if self._body_deadline is None:
                self._body_deadline = Deadline(self.conn.loop, self._on_body_timeout)
            self._body_deadline.arm(timeout)

    def _on_body_timeout(self) -> None:
        if self.body is not None and not self.remote_ended:
            self.body.fail(RequestTimeout("Request body timeout"))

    def _send_continue(self) -> None:
        if self._continue and self.stage is Stage.IDLE and not self.remote_ended and not self.reset:
            self._continue = False
            self.conn.send_headers(self, [(b":status", b"100")], False)

    # -- ResponseSink -----------------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        """True once a response head has been sent."""
        return self.stage is not Stage.IDLE

    async def send(self, response: BaseHTTPResponse, body: bytes) -> None:
        """Send a complete response: its HEADERS, then its body as the client's windows allow."""
        self._send_complete(response, body)

    def _send_complete(self, response: BaseHTTPResponse, body: bytes) -> None:
        if self.stage is not Stage.IDLE:
            raise RuntimeError("a response was already sent for this request")
        status, fields, body = complete_head(self.stage, response, body)
        if self.is_head:
            body = b""
        self.stage = Stage.DONE
        self.status = status
        if self.reset:
            return
        headers = [(b":status", b"%d" % status)]
        headers += [field for field in fields if field[0] not in CONNECTION_SPECIFIC_BYTES]
        headers.append((b"date", http_date_bytes()))
        self.conn.send_headers(self, headers, not body)
        if body:
            self._queue(body)
            self.end_pending = True
            self.conn.pump(self)
        else:
            self.conn.finish(self)

    async def start(self, response: BaseHTTPResponse) -> None:
        """Send the HEADERS of a streamed response."""
        try:
            plan = plan_response(self.stage, response, streamed=True)
        except InvalidResponse as exc:
            error_logger.error(
                "Invalid response for %r: %s", self.request, exc, extra={"request": self.request}
            )
            self._send_complete(HTTPResponse(ERROR_BODY, 500, content_type=ERROR_CONTENT_TYPE), ERROR_BODY)
            raise ConnectionClosed(INVALID_HEAD_SENT_500) from exc
        self._drop_body = not plan.body or self.is_head
        self._remaining = None if self._drop_body else plan.length
        self.stage = Stage.STREAMING
        self.status = response.status
        if self.reset:
            return
        if self._continue and self.body is not None and not self.remote_ended:
            stream = self.request.stream if self.request is not None else None
            if stream is None or not stream.refuses_declared:
                self._send_continue()  # the client waits for it before sending the body the handler will read
        self.conn.send_headers(self, response_headers(response.status, plan, plan.length), False)

    def write(self, data: bytes) -> Awaitable[None]:
        """Queue *data* at once; the result, when awaited, waits while the client's windows hold it back."""
        if self.stage is not Stage.STREAMING:
            if self.reset:
                return _Drain(self)
            raise RuntimeError(NOT_STREAMING)
        if self.reset or not data or self._drop_body:
            return _Drain(self)
        remaining = self._remaining
        if remaining is not None:
            if len(data) > remaining:
                data = data[:remaining]
            self._remaining = remaining - len(data)
            if not data:
                return _Drain(self)
        self._queue(data)
        self.conn.pump(self)
        return _Drain(self)

    async def end(self) -> None:
        """End the body (END_STREAM once what is queued has gone out); a short declared length resets."""
        if self.stage is not Stage.STREAMING:
            return
        if self._remaining:
            error_logger.error(SHORT_BODY, self._remaining)
            self.abort()
            return
        self.stage = Stage.DONE
        if not self.reset:
            self.end_pending = True
            self.conn.pump(self)

    def abort(self) -> None:
        """Give up on the response: reset this stream only (the other streams go on)."""
        if self.stage is Stage.DONE:
            return
        code = ErrorCodes.INTERNAL_ERROR if self.stage is Stage.STREAMING else ErrorCodes.CANCEL
        self.stage = Stage.DONE
        self.conn.reset_stream(self, code)

    # -- sending (the connection's side) ---------------------------------------------------------------
    def _queue(self, data: bytes) -> None:
        self.out.append(data)
        self.queued += len(data)
        self.sent += len(data)

    def take(self, size: int) -> tuple[bytes, bool]:
        """The next at most *size* queued bytes, and whether END_STREAM goes with them."""
        out = self.out
        head = out[0]
        offset = self.offset
        piece = head[offset : offset + size] if offset or len(head) > size else head
        offset += len(piece)
        if offset >= len(head):
            out.popleft()
            offset = 0
        self.offset = offset
        self.queued -= len(piece)
        if self.queued <= STREAM_HIGH:
            self.wake()
        return piece, self.end_pending and not out

    def stalled(self, blocked: bool) -> None:
        """The queue could (not) move: the write timeout runs while it cannot."""
        timeout = self.conn.settings.write_timeout
        if not blocked:
            if self._stall is not None:
                self._stall.disarm()
        elif timeout:
            if self._stall is None:
                self._stall = Deadline(self.conn.loop, self._on_stall)
            if not self._stall.armed:
                self._stall.arm(timeout)

    def _on_stall(self) -> None:
        if self.out and not self.reset:
            error_logger.info(
                "Resetting a stream whose client opened no window for %ss", self.conn.settings.write_timeout
            )
            self.conn.reset_stream(self, ErrorCodes.CANCEL)

    def gone(self, exc: BaseException) -> None:
        """The stream was reset or the connection lost: wake who waits, fail the body, stop the handler."""
        self.reset = True
        self.out.clear()
        self.queued = 0
        for deadline in (self._stall, self._body_deadline):
            if deadline is not None:
                deadline.cancel()
        if self.body is not None:
            self.body.fail(exc)
        self.wake()
        task = self.task
        if task is not None and not task.done() and self.stage is not Stage.DONE:
            task.cancel()

    def wake(self) -> None:
        """Resolve the writer's waiter: it looks at the queue again."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def waiter(self) -> asyncio.Future[None]:
        """A future resolved when the queue shrinks below ``STREAM_HIGH`` or the stream ends."""
        waiter = self._waiter
        if waiter is None or waiter.done():
            waiter = self._waiter = self.conn.loop.create_future()
        return waiter


class _Drain:
    """What a write returns: awaiting it waits while the stream's queue or the transport is full."""

    __slots__ = ("_stream",)

    def __init__(self, stream: H2Stream) -> None:
        self._stream = stream

    def __await__(self) -> Generator[Any, None, None]:
        stream = self._stream
        flow = stream.conn.flow
        waited = False
        while not stream.reset and not flow.lost and (stream.queued > STREAM_HIGH or flow.write_paused):
            waited = True
            yield from (flow.waiter() if flow.write_paused else stream.waiter()).__await__()
        if not waited:
            stream._unyielded += 1
            if stream._unyielded >= YIELD_EVERY:
                stream._unyielded = 0
                yield  # a bare yield: one turn of the loop for the others
        if stream.reset or flow.lost or flow.transport.is_closing():
            raise ConnectionClosed("the client closed the stream")
