"""The seam over ASGI messages: `AsgiBody` (a `BodySource` on ``receive``), `AsgiSink` (a `ResponseSink`).

ASGI's ``send`` is a coroutine, but ``response.write(data)`` may be called without ``await``. So the sink
queues every chunk and one pump task hands them to ``send`` in order; awaiting a write waits until its
chunk went out, and ``end()`` flushes the queue before the final message.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any

from .exceptions import ConnectionClosed
from .heads import (
    ERROR_BODY,
    ERROR_CONTENT_TYPE,
    INVALID_HEAD_SENT_500,
    NOT_STREAMING,
    SHORT_BODY,
    Head,
    InvalidResponse,
    Stage,
    plan_response,
)

if TYPE_CHECKING:
    from .response import BaseHTTPResponse

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

error_logger = logging.getLogger("necktie.error")

_LAST = {"type": "http.response.body", "body": b"", "more_body": False}


class AsgiBody:
    """A request body read from ``http.request`` messages, one ``receive()`` per chunk the handler asks for.

    While the handler reads, nothing is read ahead of it, so the ASGI server's own flow control holds back
    a client the handler does not keep up with. While it is busy elsewhere, the carrier may `prefetch`
    (to hear a disconnect, which ASGI reports only through ``receive``), holding at most ``limit`` bytes
    for the handler, as necktie-server's bounded body buffer does. ``http.disconnect`` makes ``receive``
    raise `ConnectionClosed` and calls ``on_disconnect``.
    """

    __slots__ = (
        "_receive",
        "limit",
        "ended",
        "complete",
        "lost",
        "reading",
        "asked",
        "pending",
        "held",
        "_chunks",
        "on_end",
        "on_disconnect",
        "on_idle",
    )

    def __init__(
        self,
        receive: Receive,
        limit: int,
        on_end: Callable[[], None],
        on_disconnect: Callable[[], None],
        on_idle: Callable[[], None],
    ) -> None:
        self._receive = receive
        self.limit = limit
        self.ended = False  # the handler has been given the end (None)
        self.complete = False  # the last http.request message has arrived
        self.lost = False  # http.disconnect (or a failing receive) has arrived
        self.reading = False  # the handler is inside receive()
        self.asked = False  # receive() of the ASGI server was called (by the handler or a prefetch)
        self.pending: asyncio.Task[None] | None = None  # a prefetch in flight
        self.held = 0  # bytes prefetched and not yet given to the handler
        self._chunks: deque[bytes] = deque()
        self.on_end = on_end
        self.on_disconnect = on_disconnect
        self.on_idle = on_idle

    @property
    def can_prefetch(self) -> bool:
        """True when a prefetch may start: none in flight, the handler not reading, room in the hold."""
        return self.pending is None and not self.reading and not self.lost and self.held < self.limit

    def prefetch(self) -> asyncio.Task[None]:
        """Take the next message now, on behalf of the handler's next ``receive()``."""
        if self.pending is None:
            self.pending = asyncio.get_running_loop().create_task(self._pull())
        return self.pending

    async def _pull(self) -> None:
        self.asked = True
        try:
            self._take(await self._receive())
        except (OSError, RuntimeError):  # some servers raise instead of sending http.disconnect
            self.lost = True
        finally:
            self.pending = None

    def _take(self, message: Message) -> None:
        kind = message.get("type")
        if kind == "http.request":
            if self.complete:
                return
            body = message.get("body") or b""
            if body:
                self._chunks.append(body if isinstance(body, bytes) else bytes(body))
                self.held += len(body)
            if not message.get("more_body", False):
                self.complete = True
                self.on_end()
        elif kind == "http.disconnect":
            self.lost = True

    async def receive(self) -> bytes | None:
        """The body's next non-empty chunk, or ``None`` once it has ended."""
        self.reading = True
        try:
            while True:
                if self._chunks:
                    chunk = self._chunks.popleft()
                    self.held -= len(chunk)
                    return chunk
                if self.complete:
                    self.ended = True
                    return None
                if self.lost:
                    self.on_disconnect()
                    raise ConnectionClosed("the client closed the connection")
                pending = self.pending
                if pending is not None:
                    await pending
                    continue
                self.asked = True
                try:
                    message = await self._receive()
                except (OSError, RuntimeError) as exc:
                    self.lost = True
                    self.on_disconnect()
                    raise ConnectionClosed("the client closed the connection") from exc
                self._take(message)
        finally:
            self.reading = False
            self.on_idle()


class AsgiSink:
    """Sends a response as ``http.response.start`` then ``http.response.body`` messages.

    ``lost`` is set when the client has gone: from then on nothing more is sent. ``on_lost`` is called
    when ``send`` fails (the ASGI server's way of saying the client went away mid-response), ``on_start``
    once a streamed response has started; ``before_start`` is awaited just before its start message.
    """

    __slots__ = (
        "_send",
        "_is_head",
        "stage",
        "lost",
        "on_lost",
        "on_start",
        "before_start",
        "_queue",
        "_queued",
        "_sent",
        "_pump",
        "_progress",
        "_error",
        "_remaining",
        "_drop_body",
        "status",
        "body_sent",
    )

    def __init__(self, send: Send, is_head: bool = False) -> None:
        self._send = send
        self._is_head = is_head
        self.stage = Stage.IDLE
        self.lost = False
        self.on_lost: Callable[[], None] | None = None
        self.on_start: Callable[[], None] | None = None
        self.before_start: Callable[[], Awaitable[None]] | None = None
        self._queue: deque[bytes] = deque()
        self._queued = 0  # chunks ever queued
        self._sent = 0  # chunks ``send`` has taken
        self._pump: asyncio.Task[None] | None = None
        self._progress: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._remaining: int | None = None
        self._drop_body = False
        self.status = self.body_sent = 0  # what went out, for the metrics (pynecktie.metrics)

    # -- ResponseSink ---------------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        """True once ``http.response.start`` has been (or is being) sent."""
        return self.stage is not Stage.IDLE

    async def send(self, response: BaseHTTPResponse, body: bytes) -> None:
        """Send a complete response: its start message and its whole body in one more message."""
        status, headers, body = complete_head(self.stage, response, body)
        self.stage = Stage.DONE
        if self._is_head:
            body = b""
        self.status, self.body_sent = status, len(body)
        await self._deliver({"type": "http.response.start", "status": status, "headers": headers})
        await self._deliver({"type": "http.response.body", "body": body, "more_body": False})

    async def start(self, response: BaseHTTPResponse) -> None:
        """Send the start of a streamed response; the ASGI server chooses the body's framing."""
        status = response.status
        try:
            plan = plan_response(self.stage, response, streamed=True)
        except InvalidResponse as exc:
            error_logger.error("Invalid response: %s", exc)
            self.stage = Stage.DONE
            headers = asgi_headers(_ERROR_HEAD, len(ERROR_BODY))
            await self._deliver({"type": "http.response.start", "status": 500, "headers": headers})
            await self._deliver({"type": "http.response.body", "body": ERROR_BODY, "more_body": False})
            raise ConnectionClosed(INVALID_HEAD_SENT_500) from exc
        self._drop_body = not plan.body or self._is_head
        self._remaining = None if self._drop_body else plan.length
        self.stage = Stage.STREAMING
        if self.on_start is not None:
            self.on_start()
        if self.before_start is not None:
            await self.before_start()
        headers = asgi_headers(plan, plan.length)
        self.status = status
        await self._deliver({"type": "http.response.start", "status": status, "headers": headers})

    def write(self, data: bytes) -> Awaitable[None]:
        """Queue *data* for sending in order; awaiting the result waits until it was handed to ``send``."""
        if self.stage is not Stage.STREAMING:
            if self.stage is Stage.ABORTED or self.lost:
                return _Sent(self, self._queued + 1)  # never sent: raises ConnectionClosed when awaited
            raise RuntimeError(NOT_STREAMING)
        if self.lost or self._error is not None:
            return _Sent(self, self._queued + 1)
        if not data or self._drop_body:
            return _Sent(self, self._queued)
        remaining = self._remaining
        if remaining is not None:
            if len(data) > remaining:
                data = data[:remaining]
            self._remaining = remaining - len(data)
            if not data:
                return _Sent(self, self._queued)
        self._queue.append(data)
        self._queued += 1
        self.body_sent += len(data)
        if self._pump is None:
            self._pump = asyncio.get_running_loop().create_task(self._drain())
        return _Sent(self, self._queued)

    async def end(self) -> None:
        """Send what is queued, then the final empty body message; a short declared length aborts."""
        if self.stage is not Stage.STREAMING:
            return
        try:
            await _Sent(self, self._queued)
        except ConnectionClosed:
            self.abort()
            return
        if self._remaining:
            error_logger.error(SHORT_BODY, self._remaining)
            self.abort()
            return
        self.stage = Stage.DONE
        await self._deliver(_LAST)

    def abort(self) -> None:
        """Give up on a started response: nothing more is sent and the carrier drops the connection."""
        if self.stage is Stage.DONE or self.stage is Stage.ABORTED:
            return
        self.stage = Stage.ABORTED
        self._queue.clear()

    # -- for the carrier ------------------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        """True once the response's last message has been handed to ``send``."""
        return self.stage is Stage.DONE

    @property
    def aborted(self) -> bool:
        """True when the response was started but cannot be finished."""
        return self.stage is Stage.ABORTED

    def close(self) -> None:
        """The exchange is over: the client is gone or the response ended; stop the pump."""
        self.lost = True
        self._queue.clear()
        pump = self._pump
        if pump is not None and not pump.done():
            pump.cancel()
        self._notify()

    # -- internals ------------------------------------------------------------------------------------
    async def _deliver(self, message: Message) -> None:
        if self.lost:
            return
        try:
            await self._send(message)
        except (OSError, RuntimeError) as exc:  # the client went away (servers differ in how they say it)
            self._fail(exc)

    async def _drain(self) -> None:
        queue = self._queue
        try:
            while queue and not self.lost:
                data = queue.popleft()
                await self._send({"type": "http.response.body", "body": data, "more_body": True})
                self._sent += 1
                self._notify()
        except (OSError, RuntimeError) as exc:
            self._fail(exc)
        finally:
            self._pump = None
            self._notify()

    def _fail(self, exc: BaseException) -> None:
        if self._error is None:
            self._error = exc
        self.lost = True
        self._queue.clear()
        self._notify()
        if self.on_lost is not None:
            self.on_lost()

    def _notify(self) -> None:
        progress = self._progress
        if progress is not None:
            self._progress = None
            if not progress.done():
                progress.set_result(None)

    def _wait(self) -> asyncio.Future[None]:
        if self._progress is None:
            self._progress = asyncio.get_running_loop().create_future()
        return self._progress


class _Sent:
    """What ``write`` returns: awaiting it waits until chunk number ``seq`` was taken by ``send``."""

    __slots__ = ("_sink", "_seq")

    def __init__(self, sink: AsgiSink, seq: int) -> None:
        self._sink = sink
        self._seq = seq

    def __await__(self) -> Generator[Any, None, None]:
        sink = self._sink
        while sink._sent < self._seq:
            if sink._error is not None or sink._pump is None or sink.lost:
                raise ConnectionClosed("the client closed the connection")
            yield from sink._wait().__await__()


def complete_head(
    stage: Stage, response: BaseHTTPResponse, body: bytes
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The status, ASGI headers and body of a complete response a sink in *stage* is about to send: a
    plain 500 in its place when its head cannot be sent, no body for a status that carries none."""
    status = response.status
    try:
        plan = plan_response(stage, response)
    except InvalidResponse as exc:
        error_logger.error("Invalid response: %s", exc)
        status, plan, body = 500, _ERROR_HEAD, ERROR_BODY
    return status, asgi_headers(plan, len(body) if plan.body else None), body if plan.body else b""


def asgi_headers(plan: Head, length: int | None) -> list[tuple[bytes, bytes]]:
    """The ``http.response.start`` headers of a planned head: names lower-cased, then type and *length*."""
    out = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in plan.fields]
    if plan.content_type:
        out.append((b"content-type", plan.content_type.encode("latin-1")))
    if length is not None:
        out.append((b"content-length", b"%d" % length))
    return out


_ERROR_HEAD = Head([], ERROR_CONTENT_TYPE, True, None)
