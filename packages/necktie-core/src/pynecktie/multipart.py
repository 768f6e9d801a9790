"""Incremental ``multipart/form-data``: each part handed over as its head arrives, its body as it streams.

``async for part in request.stream.multipart():`` yields `Part` objects; ``async for chunk in part`` gives the
part's body chunk by chunk (``await part.read()`` joins a small one), so an upload of any size passes through
with only one body chunk in memory. The byte-level parsing is python-multipart's callback parser; this module
turns its callbacks into an async pull interface over the request's `RequestStream`.

Limits: ``max_parts`` (413 past it), ``max_field_size`` (what ``part.read()`` joins; 413 past it),
``max_header_size`` and ``max_headers`` (per part; 400 past them). A malformed or truncated body is a 400.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from .exceptions import BadRequest, PayloadTooLarge
from .headers import Headers

if TYPE_CHECKING:
    from .request import RequestStream

__all__ = ["MultipartReader", "Part", "boundary_of"]

MAX_PARTS = 1000
MAX_FIELD_SIZE = 1 << 20
MAX_HEADER_SIZE = 8192
MAX_HEADERS = 16

# The parser logs a warning for each malformed body it meets; the client gets a 400 saying the same, so a
# hostile client must not be able to fill the logs with them.
_PARSER_LOG = logging.getLogger("necktie.multipart.parser")
_PARSER_LOG.addHandler(logging.NullHandler())
_PARSER_LOG.propagate = False

# Event kinds the parser callbacks queue for the reader.
_HEAD, _DATA, _PART_END, _END = 0, 1, 2, 3


def boundary_of(content_type: str) -> bytes:
    """The boundary of a ``multipart/form-data`` content type; `BadRequest` if it is not one or has none."""
    ctype, params = parse_options_header(content_type)
    if ctype != b"multipart/form-data":
        raise BadRequest(f"Expected a multipart/form-data body, got {ctype.decode('latin-1') or 'none'!r}")
    boundary = params.get(b"boundary")
    if not boundary or len(boundary) > 200:
        raise BadRequest("The multipart/form-data content type has no valid boundary")
    return boundary


def _decode(value: bytes) -> str:
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value.decode("latin-1")


class Part:
    """One part of a multipart body: its head at once, its body read with ``async for chunk in part``.

    ``name`` and ``filename`` come from ``Content-Disposition`` (``filename`` is None for a plain field);
    ``content_type`` is the part's ``Content-Type`` (``text/plain`` when absent, as RFC 7578 says);
    ``headers`` has every header of the part. Only the current part can be read: moving on to the next
    skips whatever is left of this one.
    """

    __slots__ = ("headers", "name", "filename", "content_type", "size", "_reader", "_done")

    def __init__(self, reader: MultipartReader, headers: Headers) -> None:
        self.headers = headers
        disposition, params = parse_options_header(headers.get("content-disposition", "").encode())
        self.name: str | None = _decode(params[b"name"]) if b"name" in params else None
        self.filename: str | None = _decode(params[b"filename"]) if b"filename" in params else None
        self.content_type: str = headers.get("content-type", "text/plain")
        self.size = 0
        self._reader = reader
        self._done = False

    @property
    def is_file(self) -> bool:
        """True when the part carries a ``filename`` (an uploaded file rather than a form field)."""
        return self.filename is not None

    @property
    def done(self) -> bool:
        """True once the part's body has been read (or skipped) to its end."""
        return self._done

    def __repr__(self) -> str:
        return f"<Part name={self.name!r} filename={self.filename!r} content_type={self.content_type!r}>"

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._reader._body(self)

    async def read(self, limit: int | None = None) -> bytes:
        """The rest of the part's body, joined; past *limit* bytes (default ``max_field_size``) a 413."""
        if limit is None:
            limit = self._reader.max_field_size
        chunks: list[bytes] = []
        total = 0
        async for chunk in self:
            total += len(chunk)
            if total > limit:
                raise PayloadTooLarge(f"Multipart part {self.name!r} exceeds {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def text(self, encoding: str = "utf-8", limit: int | None = None) -> str:
        """The rest of the body decoded (400 if it is not valid *encoding*)."""
        try:
            return (await self.read(limit)).decode(encoding)
        except UnicodeDecodeError:
            raise BadRequest(f"Multipart part {self.name!r} is not valid {encoding}") from None


class MultipartReader:
    """The parts of a ``multipart/form-data`` body, in order, pulled from *stream* as the handler asks."""

    def __init__(
        self,
        stream: RequestStream,
        content_type: str,
        *,
        max_parts: int = MAX_PARTS,
        max_field_size: int = MAX_FIELD_SIZE,
        max_header_size: int = MAX_HEADER_SIZE,
        max_headers: int = MAX_HEADERS,
    ) -> None:
        self.max_parts = max_parts
        self.max_field_size = max_field_size
        self.parts = 0
        self._stream = stream
        self._events: deque[tuple[int, Any]] = deque()
        self._current: Part | None = None
        self._ended = False
        self._field = bytearray()
        self._value = bytearray()
        self._head: list[tuple[str, str]] = []
        self._parser = MultipartParser(
            boundary_of(content_type),
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
            max_header_count=max_headers,
            max_header_size=max_header_size,
        )
        self._parser.logger = _PARSER_LOG

    # -- parser callbacks (run synchronously inside parser.write) ----------------------------------------
    def _on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.max_parts:
            raise PayloadTooLarge(f"Too many multipart parts (more than {self.max_parts})")
        self._head = []

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        self._head.append((self._field.decode("latin-1"), _decode(bytes(self._value))))
        self._field.clear()
        self._value.clear()

    def _on_headers_finished(self) -> None:
        self._events.append((_HEAD, Headers(self._head)))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._events.append((_DATA, data[start:end]))

    def _on_part_end(self) -> None:
        self._events.append((_PART_END, None))

    def _on_end(self) -> None:
        self._events.append((_END, None))

    # -- pulling --------------------------------------------------------------------------------------
    async def _next_event(self) -> tuple[int, Any]:
        """The next parser event, feeding the parser body chunks until there is one."""
        while not self._events:
            chunk = await self._stream.get()
            if chunk is None:
                if self._parser.state != MultipartState.END:
                    raise BadRequest("The multipart body ended before its closing boundary")
                return (_END, None)
            try:
                self._parser.write(chunk)
            except FormParserError as exc:
                raise BadRequest(f"Malformed multipart body: {exc}") from None
        return self._events.popleft()

    async def _body(self, part: Part) -> AsyncIterator[bytes]:
        if part is not self._current:
            raise RuntimeError("only the current multipart part can be read; this one was skipped")
        while not part._done:
            kind, value = await self._next_event()
            if kind == _DATA:
                part.size += len(value)
                yield value
            elif kind == _PART_END:
                part._done = True
            else:  # a head or the end without the part's end: the parser never does this
                raise BadRequest("Malformed multipart body")

    def __aiter__(self) -> MultipartReader:
        return self

    async def __anext__(self) -> Part:
        if self._ended:
            raise StopAsyncIteration
        current = self._current
        if current is not None and not current._done:
            async for _ in self._body(current):
                pass  # skip what the handler left unread
        kind, value = await self._next_event()
        if kind == _HEAD:
            self._current = Part(self, value)
            return self._current
        if kind == _END:
            self._ended = True
            raise StopAsyncIteration
        raise BadRequest("Malformed multipart body")
