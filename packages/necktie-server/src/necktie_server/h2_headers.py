"""HTTP/2 header lists, both ways, as plain values (no I/O): a request from the list `h2` decoded, and the
list of a response head that `pynecktie.heads` planned.

`h2` has already checked the pseudo-header fields (present, first, no connection-specific field, names in
lower case) when a list gets here; what is left is the server's own limits and HTTP/1 semantics:
``:authority`` becomes ``Host``, cookie crumbs are joined (RFC 9113 §8.2.3), and ``REQUEST_MAX_HEADERS``,
``REQUEST_MAX_HEADER_SIZE`` and ``REQUEST_MAX_LINE_SIZE`` hold as over HTTP/1.1 (a **431** or **414** on
that stream).
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
    """The `Request` of a stream's header list (its declared length is `declared_length`'s)."""
    check_header_list(headers, settings)
    method = path = authority = b""
    fields: list[Header] = []
    cookies: list[bytes] = []
    for name, value in headers:
        if name[:1] == b":":
            if name == b":method":
                method = value
            elif name == b":path":
                path = value
            elif name == b":authority":
                authority = value
        elif name == b"cookie":
            cookies.append(value)
        elif name != b"host" or not authority:
            fields.append((name, value))
    verb = _METHODS.get(method)
    if verb is None:
        if method == b"CONNECT":
            raise BadRequest("CONNECT is not supported")
        if not _TOKEN.fullmatch(method):
            raise BadRequest("Invalid method")
        verb = method.decode("ascii")
    if len(path) > settings.max_line_size:
        raise h1.URITooLong("Request target too long")
    if not (path[:1] == b"/" or (path == b"*" and verb == "OPTIONS")) or _NOT_IN_TARGET.search(path):
        raise BadRequest("Invalid request target")  # what httptools refuses in an HTTP/1.1 request line
    if authority:
        fields = [field for field in fields if field[0] != b"host"]
        fields.append((b"host", authority))
    if cookies:
        fields.append((b"cookie", b"; ".join(cookies)))
    return Request(app, verb, path, "2", fields, conn_info)


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
