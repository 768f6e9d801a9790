"""Sans-I/O HTTP/1.1 pieces: validating a parsed request head and serializing response heads and chunks.

Nothing here touches a socket, so tests drive it with plain values.
"""

from __future__ import annotations

import re
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

from pynecktie.exceptions import (
    BadRequest,
    ExpectationFailed,
    MethodNotAllowed,
    NecktieException,
    status_phrase,
)
from pynecktie.headers import Headers, InvalidResponse, check_header_name, is_header_value
from pynecktie.heads import FRAMING_HEADERS, check_fields, check_status

_DIGITS = re.compile(rb"[0-9]{1,18}\Z")
# A Host is a reg-name, IPv4 or bracketed IPv6 literal, with an optional port (RFC 3986).
_HOST = re.compile(rb"(?:[A-Za-z0-9\-._~!$&'()*+,;=%]*|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?\Z")
# An absolute-form target (RFC 9112 §3.2.2): scheme, authority, then path and query.
_ABSOLUTE = re.compile(rb"(?i:https?)://([^/?#]*)([^#]*)\Z")


class HTTPVersionNotSupported(NecktieException):
    """505: the request line names an HTTP version other than 1.0 or 1.1."""

    status_code = 505
    quiet = True


class NotImplementedEncoding(NecktieException):
    """501: a Transfer-Encoding the server does not implement (anything but ``chunked``)."""

    status_code = 501
    quiet = True


class RequestHeaderFieldsTooLarge(NecktieException):
    """431: one header, or the header section, is larger than the configured limit."""

    status_code = 431
    quiet = True


class URITooLong(NecktieException):
    """414: the request target is longer than the configured limit."""

    status_code = 414
    quiet = True


def parse_content_length(values: list[bytes]) -> int:
    """The body length from every ``Content-Length`` value; anything but one plain decimal number is a 400."""
    if len(values) != 1:
        raise BadRequest("Multiple Content-Length headers")
    value = values[0].strip(b" \t")
    if not _DIGITS.match(value):
        raise BadRequest("Invalid Content-Length header")
    return int(value)


def check_transfer_encoding(values: list[bytes]) -> None:
    """Accept exactly one ``chunked``; other codings are 501, malformed lists 400."""
    if len(values) != 1:
        raise BadRequest("Multiple Transfer-Encoding headers")
    codings = [c.strip(b" \t").lower() for c in values[0].split(b",")]
    if codings == [b"chunked"]:
        return
    if any(not c for c in codings) or codings[-1] != b"chunked":
        raise BadRequest("Invalid Transfer-Encoding header")
    known = {b"gzip", b"deflate", b"compress", b"x-gzip", b"x-compress"}
    if all(c in known for c in codings[:-1]):
        raise NotImplementedEncoding("Unsupported Transfer-Encoding")
    raise BadRequest("Invalid Transfer-Encoding header")


def check_host(values: list[bytes], version: str) -> None:
    """HTTP/1.1 needs exactly one valid ``Host``; HTTP/1.0 at most one."""
    if not values:
        if version == "1.1":
            raise BadRequest("Missing Host header")
        return
    if len(values) > 1:
        raise BadRequest("Multiple Host headers")
    if not _HOST.match(values[0]):
        raise BadRequest("Invalid Host header")


def check_expect(values: list[bytes], version: str) -> bool:
    """True when the client waits for ``100 Continue``; an unknown expectation is a 417."""
    if not values or version != "1.1":
        return False
    if len(values) == 1 and values[0].strip(b" \t").lower() == b"100-continue":
        return True
    raise ExpectationFailed("Unsupported Expect header")


def split_target(url: bytes, method: bytes) -> tuple[bytes, bytes | None]:
    """The origin-form target of a request line and the authority it names, if any.

    ``*`` is only for OPTIONS; an absolute-form target gives its authority, which then replaces ``Host``;
    CONNECT's authority-form is not served (405).
    """
    if method == b"CONNECT":
        raise MethodNotAllowed("CONNECT is not supported")
    if url[:1] == b"/":
        return url, None
    if url == b"*":
        if method == b"OPTIONS":
            return url, None
        raise BadRequest("The asterisk target is only for OPTIONS")
    match = _ABSOLUTE.match(url)
    if match is None:
        raise BadRequest("Invalid request target")
    authority, rest = match.groups()
    if not authority or not _HOST.match(authority):
        raise BadRequest("Invalid authority in the request target")
    if rest[:1] != b"/":
        rest = b"/" + rest
    return rest, authority


def check_version(version: str) -> None:
    """Only HTTP/1.0 and HTTP/1.1 are served."""
    if version not in ("1.1", "1.0"):
        raise HTTPVersionNotSupported(f"HTTP/{version} is not supported")


# -- response heads -------------------------------------------------------------------------------------


def _status_line(status: int) -> str:
    return f"HTTP/1.1 {status} {status_phrase(status)}\r\n"


_STATUS_LINES = {status.value: _status_line(status.value) for status in HTTPStatus}
# The Date header's value, recomputed at most once a second: [the second it is for, the next second, the
# value as str, as bytes]. The hot path reads it inline (`necktie_server.cycle`); the clock can go back.
DATE: list[Any] = [0.0, 0.0, "", b""]
_now = time.time  # a module global: one lookup, where ``time.time`` is two


def refresh_date() -> None:
    """Recompute `DATE` for the current second."""
    now = int(_now())
    text = formatdate(now, usegmt=True)
    DATE[:] = [float(now), now + 1.0, text, text.encode("ascii")]


def http_date() -> str:
    """The current time as an IMF-fixdate, recomputed at most once a second."""
    if not DATE[0] <= _now() < DATE[1]:
        refresh_date()
    return DATE[2]  # type: ignore[no-any-return]  # [float, float, str, bytes]


def http_date_bytes() -> bytes:
    """`http_date` as bytes."""
    if not DATE[0] <= _now() < DATE[1]:
        refresh_date()
    return DATE[3]  # type: ignore[no-any-return]  # [float, float, str, bytes]


# Heads without application headers, up to "content-length: ", by (status, content type): read directly by
# the hot path, filled by simple_head_prefix.
PREFIXES: dict[tuple[int, str | None], bytes] = {}


def simple_head_prefix(status: int, content_type: str | None) -> bytes:
    """A head with no application headers, up to ``content-length: `` (cached per status and type).

    Raises `InvalidResponse` for a bad status or content type, as `pynecktie.heads.plan_head` does.
    """
    key = (status, content_type)
    prefix = PREFIXES.get(key)
    if prefix is None:
        check_status(status)
        check_fields([], content_type)
        prefix = encode_head(status, content_type, [], "content-length: ")
        if len(PREFIXES) < 1024:
            PREFIXES[key] = prefix
    return prefix


# The names `pynecktie.heads.plan_head` does not pass through as they are: the carrier frames the body itself,
# and a Content-Type header replaces the response's content type.
_PLANNED = FRAMING_HEADERS | {"content-type"}
_PASSING: set[str] = set()  # names found to pass through as they are (valid, none of the above)


def field_lines(headers: Headers) -> bytes | None:
    """The application's *headers* as `encode_head` writes them, when `pynecktie.heads.plan_head` would pass
    each through as it is (none a framing header or Content-Type, every name and value valid); else None,
    and the general path decides (and refuses what is invalid). Lets the hot path serve, byte for byte the
    same, a response with a header or two of its own (an echoed request id)."""
    fields = headers._items
    for name, _ in fields:
        if name not in _PASSING:
            if name.lower() in _PLANNED:
                return None
            try:
                check_header_name(name)
            except InvalidResponse:
                return None
            if len(_PASSING) < 1024:
                _PASSING.add(name)
    if len(fields) == 1:  # the usual case (an echoed request id) without the joins
        name, value = fields[0]
        if value.isascii() and value.isprintable() or is_header_value(value):  # (its first test, inline)
            return f"{name}: {value}\r\n".encode("latin-1")
        return None
    if not is_header_value("".join([value for _, value in fields])):  # all at once, as check_fields does
        return None
    return "".join([f"{name}: {value}\r\n" for name, value in fields]).encode("latin-1")


def status_line(status: int) -> str:
    """``HTTP/1.1 <status> <phrase>\\r\\n`` for a status `pynecktie.heads.check_status` accepted."""
    line = _STATUS_LINES.get(status)
    if line is None:
        line = _STATUS_LINES[status] = _status_line(status)
    return line


def encode_head(status: int, content_type: str | None, fields: list[tuple[str, str]], framing: str) -> bytes:
    """Serialize a response head: status line, the application's fields, content type, then *framing*.

    The status and fields are those `pynecktie.heads.plan_head` checked; *framing* holds the server's own
    header lines (length or chunking, date, connection) and the blank line ending the head.
    """
    parts = [status_line(status)]
    for name, value in fields:
        parts.append(f"{name}: {value}\r\n")
    if content_type is not None:
        parts.append(f"content-type: {content_type}\r\n")
    parts.append(framing)
    return "".join(parts).encode("latin-1")


LAST_CHUNK = b"0\r\n\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
