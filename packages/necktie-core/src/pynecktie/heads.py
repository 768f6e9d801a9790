"""The rules of a response head, written once for every carrier: plain values in, plain values out, no I/O.

necktie-server's `Cycle` serializes what `plan_head` decides into HTTP/1 bytes, the ASGI sink into
``http.response.start`` headers; the in-memory test transport runs the server's `Cycle`. So which statuses
carry a body, which of the application's headers are dropped, when a declared ``Content-Length`` is
trusted, when the default content type goes, and which header text is refused are the same everywhere,
and so are the messages a bad response gives.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, NamedTuple

from .headers import (
    Headers,
    InvalidHeader,
    InvalidResponse,
    check_header_name,
    check_header_value,
    is_header_value,
)

if TYPE_CHECKING:
    from .response import BaseHTTPResponse

__all__ = [
    "ALREADY_SENT",
    "ERROR_BODY",
    "ERROR_CONTENT_TYPE",
    "FRAMING_HEADERS",
    "INVALID_HEAD_SENT_500",
    "NOT_STREAMING",
    "NO_BODY_STATUSES",
    "SHORT_BODY",
    "Head",
    "InvalidHeader",
    "InvalidResponse",
    "Stage",
    "check_fields",
    "check_status",
    "declared_length",
    "plan_head",
    "plan_response",
]

# 1xx, 204 and 304 never carry a body (RFC 9110 §6.4.1); the framing headers are the carrier's to write.
NO_BODY_STATUSES = frozenset({*range(100, 200), 204, 304})
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})

# The messages a response the carrier cannot send gives, under every carrier.
ALREADY_SENT = "a response was already sent for this request"
NOT_STREAMING = "write() outside of a streamed response"
INVALID_HEAD_SENT_500 = "the response head was invalid and a 500 was sent instead"
SHORT_BODY = "A streamed response ended %d bytes short of its Content-Length"

# What the client gets instead of a response whose head cannot be sent.
ERROR_BODY = b"500 Internal Server Error\n"
ERROR_CONTENT_TYPE = "text/plain; charset=utf-8"


class Stage(Enum):
    """Where a response stands on its carrier."""

    IDLE = 0  # nothing sent
    STREAMING = 1  # head sent, body being written
    DONE = 2  # the response is complete (necktie-server: or abandoned, the connection closing)
    ABORTED = 3  # given up after its head: the carrier must drop the connection


class Head(NamedTuple):
    """What goes into a response head besides the status line and the carrier's own framing."""

    fields: list[tuple[str, str]]  # the application's headers, its framing headers left out, all checked
    content_type: str | None  # the content type to add; None when a header or the status rules it out
    body: bool  # False for statuses that carry no body (the head then declares no length either)
    length: int | None  # a declared Content-Length the carrier frames a streamed body with


def check_status(status: object) -> None:
    """Refuse a status outside 100-599 (or not an int) with `InvalidResponse`."""
    if type(status) is not int or not 100 <= status <= 599:
        raise InvalidResponse(f"invalid HTTP status {status!r}")


def declared_length(value: str | None) -> int | None:
    """A ``Content-Length`` value the application set, when it is a plain decimal number; else ``None``."""
    if value is not None and value.isascii() and value.isdigit():
        return int(value)
    return None


def check_fields(fields: list[tuple[str, str]], content_type: str | None) -> None:
    """Refuse header names that are not tokens and values that would split or corrupt the head.

    Raises `InvalidHeader` (an `InvalidResponse`). The values are checked in one search over them joined.
    """
    for name, _ in fields:
        check_header_name(name)
    values = "".join([value for _, value in fields])
    if content_type is not None:
        values += content_type
    if not is_header_value(values):
        for value in [value for _, value in fields] + [content_type or ""]:
            check_header_value(value)  # raises, naming the value at fault


def plan_head(status: int, content_type: str | None, headers: Headers | None, streamed: bool = False) -> Head:
    """Decide a response head: the application's headers to send, the content type, body or none, length.

    *streamed*: the body is not known yet, so a declared ``Content-Length`` (a plain number) is trusted
    as its length. The application's own ``Content-Length`` and ``Transfer-Encoding`` are never sent as
    they are: the carrier frames the body. A ``Content-Type`` header wins over *content_type*; statuses
    without a body get neither. Raises `InvalidResponse` for a bad status or header.
    """
    check_status(status)
    body = status not in NO_BODY_STATUSES
    fields: list[tuple[str, str]] = []
    length = None
    if headers:
        for name, value in headers._items:
            lname = name.lower()
            if lname in FRAMING_HEADERS:
                if streamed and body and length is None and lname == "content-length":
                    length = declared_length(value)
                continue
            if lname == "content-type":
                content_type = None
            fields.append((name, value))
    if not body:
        content_type = None
    check_fields(fields, content_type)
    return Head(fields, content_type, body, length)


def plan_response(stage: Stage, response: BaseHTTPResponse, streamed: bool = False) -> Head:
    """`plan_head` for *response*, which a sink in *stage* is about to send (`RuntimeError` if it already
    sent one)."""
    if stage is not Stage.IDLE:
        raise RuntimeError(ALREADY_SENT)
    return plan_head(response.status, response.content_type, response._headers, streamed)
