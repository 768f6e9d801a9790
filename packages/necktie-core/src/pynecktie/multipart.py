"""``multipart/form-data``: the one place that parses it, for ``request.form`` and for streamed uploads.

``async for part in request.stream.multipart():`` yields `Part` objects as their heads arrive; ``async for
chunk in part`` gives a part's body chunk by chunk (``await part.read()`` joins a small one), so an upload of
any size passes through with only one body chunk in memory. ``request.form`` / ``request.files`` run the same
parser over a body already in memory (`parse_form`).

Both apply one set of `MultipartLimits`, taken from the app's settings (``MULTIPART_MAX_PARTS``,
``MULTIPART_MAX_FIELD_SIZE``, ``MULTIPART_MAX_HEADER_SIZE``, ``MULTIPART_MAX_HEADERS``); ``multipart()``
may override them per call. Past any limit: 413. A malformed or truncated body: 400. The byte-level
parsing is python-multipart's callback parser; `_Parser` turns its callbacks into a queue of events.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from .exceptions import BadRequest, PayloadTooLarge
from .forms import File, RequestParameters
from .headers import Headers

if TYPE_CHECKING:
    from .config import Config
    from .request import RequestStream

__all__ = ["MultipartLimits", "MultipartReader", "Part", "boundary_of", "parse_form"]

# The parser logs a warning for each malformed body it meets; the client gets a 400 saying the same, so a
# hostile client must not be able to fill the logs with them.
_PARSER_LOG = logging.getLogger("necktie.multipart.parser")
_PARSER_LOG.addHandler(logging.NullHandler())
_PARSER_LOG.propagate = False

# Event kinds the parser callbacks queue for the reader.
_HEAD, _DATA, _PART_END, _END = 0, 1, 2, 3
# The header limits are ours (checked in the callbacks, answered 413): the parser's own must never fire first.
_UNBOUNDED = 1 << 62
# How much of a body held in memory is parsed before the queued events are consumed (bounds the queue).
_SLICE = 1 << 16


@dataclass(frozen=True, slots=True)
class MultipartLimits:
    """The limits on one multipart body; the same for ``request.form`` and ``request.stream.multipart()``.

    ``max_parts``: parts in the body. ``max_field_size``: bytes of a form field's value held in memory
    (what ``part.read()`` joins on a stream; a plain field of ``request.form``). ``max_header_size``: bytes of
    one header line of a part (name and value). ``max_headers``: header lines per part. Past any: 413.
    """

    max_parts: int = 1000
    max_field_size: int = 1 << 20
    max_header_size: int = 8192
    max_headers: int = 16

    @classmethod
    def from_config(cls, config: Config | None, **overrides: int) -> MultipartLimits:
        """The limits the app's settings give (defaults without an app), with keyword *overrides*."""
        limits = cls()
        if config is not None:
            limits = cls(
                config.MULTIPART_MAX_PARTS,
                config.MULTIPART_MAX_FIELD_SIZE,
                config.MULTIPART_MAX_HEADER_SIZE,
                config.MULTIPART_MAX_HEADERS,
            )
        return replace(limits, **overrides) if overrides else limits


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


def options(value: str) -> tuple[str, dict[str, str]]:
    """A header value with parameters (``form-data; name="a"``): its lower-cased main value and parameters."""
    main, params = parse_options_header(value.encode())
    return main.decode("latin-1"), {k.decode("latin-1").lower(): _decode(v) for k, v in params.items()}


class _Parser:
    """python-multipart's parser, its callbacks queued as events, with the part-count and header limits."""

    def __init__(self, content_type: str, limits: MultipartLimits) -> None:
        self.limits = limits
        self.parts = 0
        self.events: deque[tuple[int, Any]] = deque()
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
            max_header_count=_UNBOUNDED,
            max_header_size=_UNBOUNDED,
        )
        self._parser.logger = _PARSER_LOG

    def feed(self, chunk: bytes) -> None:
        """Parse the next piece of the body, queueing its events; a malformed body is a 400."""
        try:
            self._parser.write(chunk)
        except FormParserError as exc:
            raise BadRequest(f"Malformed multipart body: {exc}") from None

    @property
    def complete(self) -> bool:
        """True once the closing boundary has been parsed."""
        return bool(self._parser.state == MultipartState.END)

    def _on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise PayloadTooLarge(f"Too many multipart parts (more than {self.limits.max_parts})")
        self._head = []

    def _grow(self, buffer: bytearray, data: bytes, start: int, end: int) -> None:
        buffer += data[start:end]
        if len(self._field) + len(self._value) > self.limits.max_header_size:
            raise PayloadTooLarge(f"A multipart part's header exceeds {self.limits.max_header_size} bytes")

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._grow(self._field, data, start, end)

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._grow(self._value, data, start, end)

    def _on_header_end(self) -> None:
        if len(self._head) >= self.limits.max_headers:
            raise PayloadTooLarge(f"A multipart part has more than {self.limits.max_headers} headers")
        self._head.append((self._field.decode("latin-1"), _decode(bytes(self._value))))
        self._field.clear()
        self._value.clear()

    def _on_headers_finished(self) -> None:
        self.events.append((_HEAD, Headers(self._head)))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        self.events.append((_DATA, data[start:end]))

    def _on_part_end(self) -> None:
        self.events.append((_PART_END, None))

    def _on_end(self) -> None:
        self.events.append((_END, None))


class Part:
    """One part of a multipart body: its head at once, its body read with ``async for chunk in part``.

    ``name`` and ``filename`` come from ``Content-Disposition`` (``filename`` is None for a plain field);
    ``content_type`` is the part's ``Content-Type`` (``text/plain`` when absent, as RFC 7578 says);
    ``headers`` has every header of the part. Only the current part can be read: moving on to the next
    skips whatever is left of this one.
    """

    __slots__ = ("headers", "disposition", "name", "filename", "content_type", "size", "_reader", "_done")

    def __init__(self, reader: MultipartReader | None, headers: Headers) -> None:
        self.headers = headers
        self.disposition, params = options(headers.get("content-disposition", ""))
        self.name: str | None = params.get("name")
        self.filename: str | None = params.get("filename")
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
        if self._reader is None:
            raise RuntimeError("this part was parsed from a body in memory: see request.form/files")
        return self._reader._body(self)

    async def read(self, limit: int | None = None) -> bytes:
        """The rest of the part's body, joined; past *limit* bytes (default ``max_field_size``) a 413."""
        if limit is None:
            limit = self._reader.limits.max_field_size if self._reader is not None else 0
        chunks: list[bytes] = []
        total = 0
        async for chunk in self:
            total += len(chunk)
            if total > limit:
                raise _field_too_large(self.name, limit)
            chunks.append(chunk)
        return b"".join(chunks)

    async def text(self, encoding: str = "utf-8", limit: int | None = None) -> str:
        """The rest of the body decoded (400 if it is not valid *encoding*)."""
        try:
            return (await self.read(limit)).decode(encoding)
        except UnicodeDecodeError:
            raise BadRequest(f"Multipart part {self.name!r} is not valid {encoding}") from None


def _field_too_large(name: str | None, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Multipart part {name!r} exceeds {limit} bytes")


class MultipartReader:
    """The parts of a ``multipart/form-data`` body, in order, pulled from *stream* as the handler asks.

    The limits are the app's settings (the stream's request's app); keywords (``max_parts=10``) override them.
    """

    def __init__(
        self,
        stream: RequestStream,
        content_type: str,
        **overrides: int,
    ) -> None:
        request = getattr(stream, "request", None)  # a stand-in stream may have none
        self.limits = MultipartLimits.from_config(
            request.app.config if request is not None else None, **overrides
        )
        self._stream = stream
        self._parser = _Parser(content_type, self.limits)
        self._current: Part | None = None
        self._ended = False

    @property
    def parts(self) -> int:
        """How many parts have begun so far."""
        return self._parser.parts

    async def _next_event(self) -> tuple[int, Any]:
        """The next parser event, feeding the parser body chunks until there is one."""
        events = self._parser.events
        while not events:
            chunk = await self._stream.get()
            if chunk is None:
                if not self._parser.complete:
                    raise BadRequest("The multipart body ended before its closing boundary")
                return (_END, None)
            self._parser.feed(chunk)
        return events.popleft()

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


def parse_form(
    body: bytes | Iterable[bytes], content_type: str, limits: MultipartLimits
) -> tuple[RequestParameters, RequestParameters]:
    """(fields, files) of a multipart body in memory (one piece or several), under *limits*.

    Every part needs a ``form-data`` disposition with a name (else 400). A part with a ``filename`` is a
    `File` (``application/octet-stream`` when it has no type); any other is a field, decoded with its
    ``charset`` (UTF-8 by default; 400 if it is not valid) and at most ``max_field_size`` bytes (413).
    """
    parser = _Parser(content_type, limits)
    fields, files = RequestParameters(), RequestParameters()
    part: Part | None = None
    data: list[bytes] = []
    size = 0
    pieces = (body[i : i + _SLICE] for i in range(0, len(body), _SLICE)) if isinstance(body, bytes) else body
    for piece in pieces:
        parser.feed(piece)
        events = parser.events
        while events:
            kind, value = events.popleft()
            if kind == _HEAD:
                part, data, size = Part(None, value), [], 0
                if part.disposition != "form-data" or part.name is None:
                    raise BadRequest("Multipart part without a form-data Content-Disposition name")
            elif kind == _DATA and part is not None:
                size += len(value)
                if part.filename is None and size > limits.max_field_size:
                    raise _field_too_large(part.name, limits.max_field_size)
                data.append(value)
            elif kind == _PART_END and part is not None:
                _store(part, b"".join(data), fields, files)
                part, data = None, []
    if not parser.complete:
        raise BadRequest("Malformed multipart body: it ends before its closing boundary")
    return fields, files


def _store(part: Part, body: bytes, fields: RequestParameters, files: RequestParameters) -> None:
    name = part.name or ""
    ctype, params = options(part.headers.get("content-type", ""))
    if part.filename is not None:
        files.setdefault(name, []).append(File(ctype or "application/octet-stream", body, part.filename))
        return
    charset = params.get("charset", "utf-8")
    try:
        value = body.decode(charset)
    except (UnicodeDecodeError, LookupError):
        raise BadRequest(f"Multipart field {name!r} is not valid {charset}") from None
    fields.setdefault(name, []).append(value)
