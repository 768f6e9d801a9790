"""NDJSON (JSON Lines) both ways: a request body read line by line, and a response streamed line by line.

``async for item in request.stream.ndjson(Model)`` parses each line as it arrives and validates it with a
pydantic model (or any type pydantic accepts; plain JSON values without one). A bad line raises
`NDJSONLineError` naming its line: a 422 with pydantic's errors when the handler lets it through before its
response has started. ``pynecktie.response.ndjson(items)`` streams models, dicts or any JSON-able values
as lines.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from pydantic_core import SchemaValidator

from . import _json
from .exceptions import PayloadTooLarge
from .response import HeadersLike, StreamingHTTPResponse
from .validation import ValidationFailed, adapter_for, error_list

if TYPE_CHECKING:
    from .request import RequestStream

__all__ = ["NDJSONLineError", "closing_source", "ndjson", "read_ndjson"]

MAX_LINE_SIZE = 1 << 20
_BLANK = re.compile(rb"[ \t\r]*\Z")


class NDJSONLineError(ValidationFailed):
    """A line of an NDJSON body is not valid JSON or fails validation; ``line`` is its 1-based number."""

    def __init__(self, line: int, errors: list[dict[str, Any]]) -> None:
        self.line = line
        first = errors[0]["msg"] if errors else "invalid"
        super().__init__(errors, f"Line {line} of the NDJSON body is invalid: {first}", extra={"line": line})


async def read_ndjson(
    stream: RequestStream, model: Any = None, *, max_line_size: int = MAX_LINE_SIZE
) -> AsyncIterator[Any]:
    """Each non-blank line of *stream* parsed as JSON and validated with *model* (any JSON value if None).

    Lines end with ``\\n`` (a ``\\r`` before it is ignored); the last may lack one. A line longer than
    *max_line_size* bytes is a 413; an invalid one raises `NDJSONLineError`.
    """
    adapter = adapter_for(Any if model is None else model)
    # The core validator itself when there is one: TypeAdapter.validate_json adds Python work per line.
    core = adapter.validator
    validate = core.validate_json if isinstance(core, SchemaValidator) else adapter.validate_json
    pending = bytearray()  # the unfinished last line: grown in place, so many tiny chunks cost linear time
    number = 0
    while True:
        chunk = await stream.get()
        if chunk is None:
            lines = [bytes(pending)]
        else:
            if b"\n" in chunk:
                lines = chunk.split(b"\n")
                if pending:
                    lines[0] = bytes(pending) + lines[0]
                    pending.clear()
                pending += lines.pop()
            else:
                lines = []
                pending += chunk
            if len(pending) > max_line_size:
                raise PayloadTooLarge(
                    f"Line {number + len(lines) + 1} of the NDJSON body exceeds {max_line_size} bytes"
                )
        for line in lines:
            number += 1
            if len(line) > max_line_size:
                raise PayloadTooLarge(f"Line {number} of the NDJSON body exceeds {max_line_size} bytes")
            try:
                item = validate(line)
            except ValidationError as exc:
                if _BLANK.match(line):  # blank lines are skipped; checked only here, off the per-line path
                    continue
                raise NDJSONLineError(number, error_list(exc)) from None
            yield item
        if chunk is None:
            return


@asynccontextmanager
async def closing_source(items: AsyncIterable[Any]) -> AsyncIterator[AsyncIterable[Any]]:
    """Hand *items* over, then close it if it is an async generator (its ``finally`` runs at once, even
    when the client went away mid-stream, rather than whenever the generator is garbage-collected)."""
    try:
        yield items
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()


def ndjson(
    items: AsyncIterable[Any] | Iterable[Any],
    status: int = 200,
    headers: HeadersLike = None,
    content_type: str = "application/x-ndjson",
) -> StreamingHTTPResponse:
    """A streamed response of one JSON line per item of *items* (models, dicts, lists, scalars).

    Each line is written as the item arrives, with back-pressure; *items* may be sync or async.
    """

    async def send_lines(response: StreamingHTTPResponse) -> None:
        dumps = _json.dumps
        if isinstance(items, AsyncIterable):
            async with closing_source(items) as source:
                async for item in source:
                    await response.write(dumps(item) + b"\n")
        else:
            for item in items:
                await response.write(dumps(item) + b"\n")

    return StreamingHTTPResponse(send_lines, status, headers, content_type)
