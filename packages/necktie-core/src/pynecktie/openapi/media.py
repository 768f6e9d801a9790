"""What a route streams, for the document: ``request_body=NDJSON(Reading)``,
``responses={200: SSE(Price)}``, ``request_body=Multipart(Upload)``, ``responses={200: Binary()}``.

Each marker renders its Media Type Object. OpenAPI 3.2 describes a sequential body (NDJSON lines, SSE
events) by its items: ``itemSchema``. 3.1 has no word for a sequence, so there ``schema`` describes one item,
as the tools that read streamed 3.1 bodies take it, and the description says the body is a stream of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .schemas import Mode, Schemas, binary

__all__ = ["SSE", "Binary", "Multipart", "NDJSON", "StreamBody"]


class StreamBody:
    """A streamed body in the document (a request body or a response)."""

    media_type: str
    description: ClassVar[str] = "A byte stream."

    def content(self, schemas: Schemas, sequential: bool, mode: Mode) -> dict[str, Any]:
        """The Content Object (media type -> Media Type Object); *sequential*: OpenAPI 3.2's ``itemSchema``;
        *mode*: ``validation`` for a request body, ``serialization`` for a response."""
        raise NotImplementedError


def _sequence(media_type: str, item: Any, sequential: bool) -> dict[str, Any]:
    # 3.2: itemSchema is each item's schema. 3.1 has no word for a sequence: there ``schema`` describes one
    # item (one line, one event), as tools that read streamed 3.1 bodies take it (schemathesis checks each
    # event of a text/event-stream response against it); the description says it is a stream.
    return {media_type: {"itemSchema" if sequential else "schema": item}}


@dataclass(frozen=True)
class NDJSON(StreamBody):
    """Newline-delimited JSON: one *item* (a pydantic model or any type; None: any JSON value) per line,
    read with ``request.stream.ndjson(Model)`` or sent with ``response.ndjson(...)``."""

    item: Any = None
    media_type: str = "application/x-ndjson"

    description: ClassVar[str] = "A stream of JSON values, one per line (NDJSON), each handled as it arrives."

    def content(self, schemas: Schemas, sequential: bool, mode: Mode) -> dict[str, Any]:
        """One item schema per line."""
        item: Any = {} if self.item is None else schemas.ref(self.item, mode)
        return _sequence(self.media_type, item, sequential)


@dataclass(frozen=True)
class SSE(StreamBody):
    """Server-sent events (``response.sse(...)``); *data* is the type of each event's JSON data (None:
    text), *event* the event name it carries, if one."""

    data: Any = None
    event: str | None = None
    media_type: str = "text/event-stream"

    description: ClassVar[str] = "Server-sent events, each sent as it happens."

    def content(self, schemas: Schemas, sequential: bool, mode: Mode) -> dict[str, Any]:
        """An event: its ``data`` (JSON of *data*'s schema, or text), ``event``, ``id`` and ``retry``."""
        data: dict[str, Any] = {"type": "string"}
        if self.data is not None:
            data = {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": schemas.ref(self.data, mode),
            }
        event: dict[str, Any] = {"type": "string"} if self.event is None else {"const": self.event}
        item = {
            "type": "object",
            "required": ["data"],
            "properties": {
                "data": data,
                "event": event,
                "id": {"type": "string"},
                "retry": {"type": "integer", "minimum": 0},
            },
        }
        return _sequence(self.media_type, item, sequential)


@dataclass(frozen=True)
class Multipart(StreamBody):
    """A ``multipart/form-data`` upload read part by part (``request.stream.multipart()``); *fields* is a
    model of its parts (a field typed `pynecktie.forms.File` is a file), None for any parts."""

    fields: Any = None
    media_type: str = "multipart/form-data"

    description: ClassVar[str] = (
        "A multipart upload, read part by part as it arrives: files of any size stream through."
    )

    def content(self, schemas: Schemas, sequential: bool, mode: Mode) -> dict[str, Any]:
        """The parts as an object (the same in 3.1 and 3.2: form-data parts are named, not a sequence)."""
        schema: Any = {"type": "object", "additionalProperties": binary()}
        if self.fields is not None:
            schema = schemas.ref(self.fields, mode)
        return {self.media_type: {"schema": schema}}


@dataclass(frozen=True)
class Binary(StreamBody):
    """Raw bytes of *media_type*, streamed (``request.stream`` chunks, ``response.stream(...)``)."""

    media_type: str = "application/octet-stream"

    def content(self, schemas: Schemas, sequential: bool, mode: Mode) -> dict[str, Any]:
        """Bytes, not JSON."""
        return {self.media_type: {"schema": binary()}}
