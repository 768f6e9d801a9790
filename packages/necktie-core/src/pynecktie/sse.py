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
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass
from typing import Any

from . import _json
from .headers import Headers
from .ndjson import closing_source
from .response import HeadersLike, StreamingHTTPResponse

__all__ = ["Event", "encode", "sse"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
PING = b": ping\n\n"


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
        loop = asyncio.get_running_loop()
        last_write = [loop.time()]
        pinger = asyncio.create_task(_ping(response, ping, last_write)) if ping else None
        if pinger is not None:  # a failed ping (client gone) surfaces at the next event's write instead
            pinger.add_done_callback(lambda task: task.cancelled() or task.exception())
        try:
            if isinstance(items, AsyncIterable):
                async with closing_source(items) as source:
                    async for item in source:
                        await response.write(encode(item))
                        last_write[0] = loop.time()
            else:
                for item in items:
                    await response.write(encode(item))
                    last_write[0] = loop.time()
        finally:
            if pinger is not None:
                pinger.cancel()

    return StreamingHTTPResponse(send_events, status, hdrs, "text/event-stream; charset=utf-8")


async def _ping(response: StreamingHTTPResponse, interval: float, last_write: list[float]) -> None:
    """Write a comment whenever *interval* seconds pass without an event."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(max(0.0, last_write[0] + interval - loop.time()))
        if loop.time() - last_write[0] >= interval:
            await response.write(PING)
            last_write[0] = loop.time()
