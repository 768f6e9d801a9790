"""Server-sent events: ``pynecktie.response.sse(items)`` streams each item as one ``text/event-stream`` event.

Items are strings (sent as data), `Event` (data plus ``event``, ``id``, ``retry``, ``comment``), or anything
else JSON can encode (dicts, lists, pydantic models: sent as one line of JSON data). Multi-line data becomes
one ``data:`` field per line. While the source is quiet, a comment (``: ping``) goes out every ``ping``
seconds so proxies and clients keep the connection. A reconnecting client's ``Last-Event-ID`` is
``request.last_event_id``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterable, Awaitable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from . import _json
from .headers import Headers
from .ndjson import closing_source
from .response import HeadersLike, StreamingHTTPResponse

__all__ = ["Event", "encode", "sse"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
PING = b": ping\n\n"
# Events written while the source has more ready go out together, up to this many bytes in one write.
BATCH_BYTES = 32768


@dataclass(frozen=True, slots=True)
class Event:
    """One server-sent event. ``data`` is text, or any JSON-able value (sent as JSON); ``retry`` is in ms.

    ``event``, ``id`` and ``comment`` must be single lines; ``id`` may not contain NUL.
    """

    data: Any = None
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    comment: str | None = None


def _single_line(name: str, value: str) -> str:
    if _LINE_BREAK.search(value) or (name == "id" and "\0" in value):
        raise ValueError(f"SSE {name} must be a single line without NUL, got {value!r}")
    return value


def _data_text(data: Any) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, (bytes, bytearray)):
        return bytes(data).decode()
    return _json.dumps(data).decode()


def encode(item: Any) -> bytes:
    """The wire form of one event: *item* is an `Event`, a string, or a JSON-able value."""
    if type(item) is str and "\n" not in item and "\r" not in item:  # the common event: one data line
        return ("data: " + item + "\n\n").encode()
    if not isinstance(item, Event):
        item = Event(data=item)
    lines: list[str] = []
    if item.comment is not None:
        lines.extend(": " + line for line in _LINE_BREAK.split(item.comment))
    if item.event is not None:
        lines.append("event: " + _single_line("event", item.event))
    if item.id is not None:
        lines.append("id: " + _single_line("id", str(item.id)))
    if item.retry is not None:
        lines.append(f"retry: {int(item.retry)}")
    if item.data is not None:
        lines.extend("data: " + line for line in _LINE_BREAK.split(_data_text(item.data)))
    return ("\n".join(lines) + "\n\n").encode()


def sse(
    items: AsyncIterable[Any] | Iterable[Any],
    *,
    ping: float | None = 15.0,
    status: int = 200,
    headers: HeadersLike = None,
) -> StreamingHTTPResponse:
    """A ``text/event-stream`` response sending each of *items* as an event, as it arrives.

    ``ping`` is the keep-alive interval in seconds (None for no pings). Responses carry
    ``Cache-Control: no-cache`` and ``X-Accel-Buffering: no`` (so proxies pass events on at once).
    """
    hdrs = headers if isinstance(headers, Headers) else Headers(headers)
    hdrs.setdefault("Cache-Control", "no-cache")
    hdrs.setdefault("X-Accel-Buffering", "no")

    async def send_events(response: StreamingHTTPResponse) -> None:
        writer = _Writer(response)
        pinger = asyncio.create_task(_ping(writer, ping)) if ping else None
        if pinger is not None:  # a failed ping (client gone) surfaces at the next event's write instead
            pinger.add_done_callback(lambda task: task.cancelled() or task.exception())
        try:
            if isinstance(items, AsyncIterable):
                async with closing_source(items) as source:
                    async for item in source:
                        await writer.send(encode(item))
            else:
                for item in items:
                    await writer.send(encode(item))
            await writer.finish()
        finally:
            writer.cancel()
            if pinger is not None:
                pinger.cancel()

    return StreamingHTTPResponse(send_events, status, hdrs, "text/event-stream; charset=utf-8")


class _Writer:
    """The events of one response on their way out, and when the last went (for the pings).

    An event is not written at once but batched, and the batch goes out in one write after the task's
    step (when it next waits: see `_Turn`) or once it reaches `BATCH_BYTES`: a subscriber that fell behind
    catches up with one system call rather than one per event, and one that keeps up sees each event after
    the same step. The back-pressure of a batch written after the step is waited for at the next event.
    """

    __slots__ = ("_drain", "_loop", "_parts", "_response", "_size", "_turn", "last_write")

    def __init__(self, response: StreamingHTTPResponse) -> None:
        self._response = response
        self._loop = loop = asyncio.get_running_loop()
        self._turn = _Turn.of(loop)
        self._parts: list[bytes] = []
        self._size = 0
        self._drain: Awaitable[None] | None = None
        self.last_write = loop.time()

    async def send(self, data: bytes) -> None:
        """Queue *data* (whole events) after what is queued; wait while the client reads too slowly."""
        drain, self._drain = self._drain, None
        if drain is not None:
            await drain
        parts = self._parts
        parts.append(data)
        self._size += len(data)
        if self._size >= BATCH_BYTES:
            await self._write()
        elif len(parts) == 1:  # a new batch: the turn writes it (the first one queued asks for the callback)
            turn = self._turn
            if not turn.writers:
                self._loop.call_soon(turn.write_all)
            turn.writers.append(self)

    async def finish(self) -> None:
        """Write what is queued and wait for its back-pressure (the stream ends after it)."""
        drain, self._drain = self._drain, None
        if drain is not None:
            await drain
        if self._parts:
            await self._write()

    def cancel(self) -> None:
        """The stream ends: nothing more is written."""
        self._parts.clear()
        self._size = 0

    def _write(self) -> Awaitable[None]:
        parts = self._parts
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        parts.clear()
        self._size = 0
        self.last_write = self._loop.time()
        return self._response.write(data)


class _Turn:
    """The writers of one loop with a batch queued in its current turn, written out by one callback after it.

    The callback runs once the callbacks ready when it was scheduled have run, so after the step of each
    task that queued a batch. One callback per turn for all the responses rather than one per response:
    with a thousand subscribers each woken for one event, an event costs its write and no callback.
    """

    __slots__ = ("_loop", "writers")
    _last: ClassVar[_Turn | None] = None  # the last one made (each writer keeps its own)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.writers: list[_Writer] = []  # a writer whose batch was written meanwhile has nothing to write

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> _Turn:
        """A turn keeper of *loop* (a new one when the last one made was another loop's)."""
        turn = cls._last
        if turn is None or turn._loop is not loop:
            turn = cls._last = cls(loop)
        return turn

    def write_all(self) -> None:
        """Write each queued batch; its back-pressure is waited for at the writer's next event."""
        writers, self.writers = self.writers, []
        for writer in writers:
            if writer._parts:
                try:
                    writer._drain = writer._write()
                except Exception as exc:  # logged as a callback's would be; the others are still written
                    self._loop.call_exception_handler(
                        {"message": "Writing server-sent events failed", "exception": exc}
                    )


async def _ping(writer: _Writer, interval: float) -> None:
    """Write a comment whenever *interval* seconds pass without an event."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(max(0.0, writer.last_write + interval - loop.time()))
        if loop.time() - writer.last_write >= interval:
            await writer.send(PING)
