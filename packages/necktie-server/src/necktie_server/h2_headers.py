"""HTTP/2 header lists, both ways, as plain values (no I/O): a request from the list `h2` decoded, and the
list of a response head that `pynecktie.heads` planned.

A request's list is checked here, in one pass, where `h2`'s own checks are off (`Http2Connection`): what
RFC 9113 §8.2-8.3 calls malformed is a **400** on that stream (h2 would end the whole connection). Then the
server's limits and HTTP/1 semantics: ``:authority`` becomes ``Host``, cookie crumbs are joined (§8.2.3),
and ``REQUEST_MAX_HEADERS``, ``REQUEST_MAX_HEADER_SIZE`` and ``REQUEST_MAX_LINE_SIZE`` hold as over
HTTP/1.1 (a **431** or **414** on that stream).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pynecktie.exceptions import BadRequest
from pynecktie.heads import Head
from pynecktie.request import ConnInfo, Request

from . import h1

if TYPE_CHECKING:
    from pynecktie import Necktie

    from .settings import ServerSettings

Header = tuple[bytes, bytes]

# Never sent over HTTP/2 (RFC 9113 §8.2.2): the application's, if it set them, are dropped.
CONNECTION_SPECIFIC = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}
)
CONNECTION_SPECIFIC_BYTES = frozenset(name.encode() for name in CONNECTION_SPECIFIC)
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110: a method is a token
_NOT_IN_TARGET = re.compile(rb"[\x00-\x20\x7f-\xff]")  # no space, control or non-ASCII byte (as HTTP/1.1)
_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9a-z]+")  # a field name: a token, lower case (RFC 9113 §8.2.1)
_BAD_VALUE = re.compile(rb"[\x00\r\n]|\A[ \t]|[ \t]\Z")  # RFC 9113 §8.2.1
_METHODS = {m.encode(): m for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")}


def check_header_list(headers: list[Header], settings: ServerSettings, trailers: bool = False) -> None:
    """Refuse a header list (or trailer section) over the configured count or size: **431**."""
    if len(headers) > settings.max_headers + (0 if trailers else 4):  # (up to four are pseudo-fields)
        raise h1.RequestHeaderFieldsTooLarge("Request header fields too large")
    size = 0
    line_cap = settings.max_line_size
    for name, value in headers:
        if len(value) > line_cap and name != b":path":
            raise h1.RequestHeaderFieldsTooLarge("Request header fields too large")
        size += len(name) + len(value) + 4
    if size > settings.max_header_size:
        raise h1.RequestHeaderFieldsTooLarge("Request header fields too large")


def make_request(
    app: Necktie, headers: list[Header], conn_info: ConnInfo, settings: ServerSettings
) -> Request:
    """The `Request` of a stream's header list (its declared length is `declared_length`'s).

    A malformed list (RFC 9113 §8.2-8.3: a pseudo-header unknown, repeated, missing or after a field; a
    name not a lower-case token; a connection-specific field; a value with NUL, CR, LF or surrounding
    space; ``Host`` other than ``:authority``) is a **400** on its stream, as one request line is over
    HTTP/1.1: the connection goes on.
    """
    check_header_list(headers, settings)
    method = path = authority = scheme = host = None
    fields: list[Header] = []
    cookies: list[bytes] = []
    regular = False
    for name, value in headers:
        if _BAD_VALUE.search(value):
            raise BadRequest("Invalid header value")
        if name[:1] == b":":
            if regular:
                raise BadRequest("A pseudo-header after the header fields")
            if name == b":method" and method is None:
                method = value
            elif name == b":path" and path is None:
                path = value
            elif name == b":authority" and authority is None:
                authority = value
            elif name == b":scheme" and scheme is None:
                scheme = value
            else:
                raise BadRequest("Invalid or repeated pseudo-header")
            continue
        regular = True
        check_field(name, value)
        if name == b"cookie":
            cookies.append(value)
        else:
            if name == b"host":
                if host is not None:
                    raise BadRequest("Two Host fields")
                host = value
            fields.append((name, value))
    if method is None:
        raise BadRequest("No :method")
    verb = _METHODS.get(method)
    if verb is None:
        if method == b"CONNECT":
            raise BadRequest("CONNECT is not supported")
        if not _TOKEN.fullmatch(method):
            raise BadRequest("Invalid method")
        verb = method.decode("ascii")
    if path is None or scheme is None:
        raise BadRequest("No :path or :scheme")
    if len(path) > settings.max_line_size:
        raise h1.URITooLong("Request target too long")
    if not (path[:1] == b"/" or (path == b"*" and verb == "OPTIONS")) or _NOT_IN_TARGET.search(path):
        raise BadRequest("Invalid request target")  # what httptools refuses in an HTTP/1.1 request line
    if authority is not None:
        if host is None:
            fields.append((b"host", authority))
        elif host != authority:
            raise BadRequest(":authority and Host differ")
    if cookies:
        fields.append((b"cookie", b"; ".join(cookies)))
    return Request(app, verb, path, "2", fields, conn_info)


def check_field(name: bytes, value: bytes) -> None:
    """Refuse a header field HTTP/2 does not allow (a name not a lower-case token, a connection-specific
    field, ``TE`` other than ``trailers``): `BadRequest`."""
    if (
        name in CONNECTION_SPECIFIC_BYTES
        or (name == b"te" and value != b"trailers")
        or not _NAME.fullmatch(name)
    ):
        raise BadRequest("Invalid header field")


def check_trailers(trailers: list[Header], settings: ServerSettings) -> None:
    """Refuse a trailer section over the limits (**431**) or malformed (pseudo-headers, bad fields)."""
    check_header_list(trailers, settings, trailers=True)
    for name, value in trailers:
        if _BAD_VALUE.search(value) or name[:1] == b":":
            raise BadRequest("Invalid trailer field")
        check_field(name, value)


def declared_length(request: Request) -> int | None:
    """A request's ``Content-Length``, when it sent a valid one (`h2` checks the body against it)."""
    for name, value in request.raw_headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def response_headers(status: int, plan: Head, length: int | None) -> list[Header]:
    """The header list of a response head: ``:status``, the application's fields (lower-cased, without
    the connection-specific ones), the content type, the length when known, and the date."""
    out: list[Header] = [(b":status", b"%d" % status)]
    for name, value in plan.fields:
        lname = name.lower()
        if lname not in CONNECTION_SPECIFIC:
            out.append((lname.encode("latin-1"), value.encode("latin-1")))
    if plan.content_type:
        out.append((b"content-type", plan.content_type.encode("latin-1")))
    if length is not None:
        out.append((b"content-length", b"%d" % length))
    out.append((b"date", h1.http_date_bytes()))
    return out
