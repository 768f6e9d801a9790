"""Response types and the helpers that build them.

`text`, `json`, `html`, `raw`, `empty`, `redirect` build an `HTTPResponse`; `stream` a
`StreamingHTTPResponse`; `file` and `file_stream` a `FileResponse`, which only describes a file: the pipeline
checks it against the request (conditional and range headers) and the carrier sends it (with the kernel's
``sendfile`` where it can).
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable, Generator, Mapping
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from . import _json
from .exceptions import ConnectionClosed
from .headers import Headers

if TYPE_CHECKING:
    from .seam import ResponseSink

__all__ = [
    "BaseHTTPResponse",
    "HTTPResponse",
    "StreamingHTTPResponse",
    "text",
    "json",
    "html",
    "raw",
    "empty",
    "redirect",
    "stream",
    "ndjson",
    "sse",
    "Event",
    "FileResponse",
    "file",
    "file_stream",
]

HeadersLike = Mapping[str, str] | Headers | None
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_COOKIE_ATTR_BAD = re.compile(r"[\x00-\x1f\x7f;]")


def to_bytes(data: Any) -> bytes:
    """Bytes for a body or a chunk: ``str`` as UTF-8, bytes-like as is, anything else as ``str(value)``."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    return str(data).encode()


class BaseHTTPResponse:
    """What every response has: a status, headers and a content type."""

    __slots__ = ("status", "_headers", "content_type", "_compress")

    def __init__(
        self, status: int = 200, headers: HeadersLike = None, content_type: str | None = None
    ) -> None:
        self.status = status
        # Created on first use: most responses never carry headers of their own.
        self._headers = headers if headers is None or isinstance(headers, Headers) else Headers(headers)
        self.content_type = content_type

    @property
    def headers(self) -> Headers:
        """The response's own headers (framing, date and connection headers are the carrier's)."""
        if self._headers is None:
            self._headers = Headers()
        return self._headers

    @headers.setter
    def headers(self, value: HeadersLike) -> None:
        self._headers = value if isinstance(value, Headers) else Headers(value)

    @property
    def compress(self) -> bool | None:
        """False: never compress this response; True or None (the default): as the app and route say."""
        return getattr(self, "_compress", None)

    @compress.setter
    def compress(self, value: bool | None) -> None:
        self._compress = value

    def add_cookie(
        self,
        key: str,
        value: str,
        *,
        path: str = "/",
        domain: str | None = None,
        max_age: int | None = None,
        expires: str | None = None,
        secure: bool = True,
        httponly: bool = True,
        samesite: str | None = "Lax",
    ) -> None:
        """Add a ``Set-Cookie`` header; secure, HTTP-only and ``SameSite=Lax`` unless told otherwise.

        The value is percent-encoded; a name, path or domain that would break the header raises ValueError.
        """
        if not _COOKIE_NAME.match(key):
            raise ValueError(f"invalid cookie name {key!r}")
        for label, attr in (("path", path), ("domain", domain or ""), ("expires", expires or "")):
            if _COOKIE_ATTR_BAD.search(attr):
                raise ValueError(f"invalid cookie {label} {attr!r}")
        if samesite is not None and samesite.capitalize() not in ("Strict", "Lax", "None"):
            raise ValueError(f"SameSite is Strict, Lax or None, not {samesite!r}")
        if samesite and samesite.capitalize() == "None" and not secure:
            raise ValueError("SameSite=None cookies must be Secure")
        parts = [f"{key}={quote(value, safe='')}", f"Path={path}"]
        if domain:
            parts.append(f"Domain={domain}")
        if max_age is not None:
            parts.append(f"Max-Age={int(max_age)}")
        if expires:
            parts.append(f"Expires={expires}")
        if secure:
            parts.append("Secure")
        if httponly:
            parts.append("HttpOnly")
        if samesite:
            parts.append(f"SameSite={samesite.capitalize()}")
        self.headers.add("Set-Cookie", "; ".join(parts))

    def delete_cookie(self, key: str, *, path: str = "/", domain: str | None = None) -> None:
        """Tell the client to drop cookie *key*."""
        self.add_cookie(key, "", path=path, domain=domain, max_age=0)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.status} {self.content_type}>"


class HTTPResponse(BaseHTTPResponse):
    """A response whose whole body is known when the handler returns."""

    __slots__ = ("body",)

    def __init__(
        self,
        body: Any = None,
        status: int = 200,
        headers: HeadersLike = None,
        content_type: str | None = None,
    ) -> None:
        self.status = status
        self._headers = headers if headers is None or isinstance(headers, Headers) else Headers(headers)
        self.content_type = content_type
        self.body = body if type(body) is bytes else (b"" if body is None else to_bytes(body))


class StreamingHTTPResponse(BaseHTTPResponse):
    """A response whose body is written piece by piece by ``streaming_fn(response)`` after the head is sent.

    ``response.write(data)`` sends one chunk in order; awaiting it also waits until the carrier has room
    for more (back-pressure).
    """

    __slots__ = ("streaming_fn", "_sink")

    def __init__(
        self,
        streaming_fn: Callable[[StreamingHTTPResponse], Awaitable[Any]],
        status: int = 200,
        headers: HeadersLike = None,
        content_type: str = "text/plain; charset=utf-8",
    ) -> None:
        super().__init__(status, headers, content_type)
        self.streaming_fn = streaming_fn
        self._sink: ResponseSink | None = None

    def write(self, data: Any) -> Awaitable[None]:
        """Send *data* (str, bytes, or any value as ``str(value)``); await the result for back-pressure."""
        sink = self._sink
        if sink is None:
            raise ConnectionClosed("the response is not being streamed (it has ended or not yet started)")
        return sink.write(to_bytes(data))

    send = write


def text(
    body: str, status: int = 200, headers: HeadersLike = None, content_type: str = "text/plain; charset=utf-8"
) -> HTTPResponse:
    """A plain-text response."""
    if not isinstance(body, str):
        raise TypeError(f"text() takes a str, not {type(body).__name__}")
    return HTTPResponse(body.encode(), status, headers, content_type)


def html(body: Any, status: int = 200, headers: HeadersLike = None) -> HTTPResponse:
    """An HTML response (a str, or an object with ``__html__``)."""
    if hasattr(body, "__html__"):
        body = body.__html__()
    return HTTPResponse(body, status, headers, "text/html; charset=utf-8")


def raw(
    body: bytes | bytearray | memoryview | str,
    status: int = 200,
    headers: HeadersLike = None,
    content_type: str = "application/octet-stream",
) -> HTTPResponse:
    """A response with bytes as they are."""
    return HTTPResponse(body, status, headers, content_type)


def json(
    body: Any,
    status: int = 200,
    headers: HeadersLike = None,
    content_type: str = "application/json",
    dumps: Callable[[Any], bytes | str] | None = None,
    **kwargs: Any,
) -> HTTPResponse:
    """A JSON response, encoded with orjson (pydantic models included) unless *dumps*, or the default set
    with ``Necktie(dumps=...)``, says otherwise; *kwargs* go to the encoder."""
    default = _DUMPS[0]
    data = (dumps or default)(body, **kwargs) if kwargs or dumps else default(body)
    return HTTPResponse(data, status, headers, content_type)


# The encoder json() uses when not given one: process-wide, like the encoder of the stdlib's json module.
_DUMPS: list[Callable[..., bytes | str]] = [_json.dumps]


def set_default_dumps(dumps: Callable[..., bytes | str] | None) -> None:
    """Make *dumps* the encoder every `json()` response uses by default (None: back to orjson)."""
    _DUMPS[0] = dumps or _json.dumps


def empty(status: int = 204, headers: HeadersLike = None) -> HTTPResponse:
    """A response with no body (204 unless told otherwise)."""
    return HTTPResponse(b"", status, headers)


def redirect(
    to: str, headers: HeadersLike = None, status: int = 302, content_type: str = "text/html; charset=utf-8"
) -> HTTPResponse:
    """A redirect to *to* (kept as given, with unsafe characters percent-encoded)."""
    hdrs = Headers(headers)
    hdrs["Location"] = quote(to, safe=":/%#?&=@[]!$&'()*+,;")
    return HTTPResponse(b"", status, hdrs, content_type)


def stream(
    streaming_fn: Callable[[StreamingHTTPResponse], Awaitable[Any]],
    status: int = 200,
    headers: HeadersLike = None,
    content_type: str = "text/plain; charset=utf-8",
) -> StreamingHTTPResponse:
    """A streamed response: ``streaming_fn(response)`` runs after the head is sent and calls ``write``."""
    return StreamingHTTPResponse(streaming_fn, status, headers, content_type)


class FileResponse(BaseHTTPResponse):
    """A file to send: where it is and how; the body is never read into memory as a whole.

    Before sending, the pipeline opens the file and answers conditional requests (``If-None-Match``,
    ``If-Modified-Since`` → 304) and byte ranges (``Range`` → 206, or 416 when unsatisfiable). Awaiting
    a `FileResponse` gives the response itself, so ``return file(p)`` and ``return await file(p)`` both work.
    """

    __slots__ = (
        "location",
        "filename",
        "max_age",
        "no_store",
        "last_modified",
        "etag",
        "use_range",
        "use_conditional",
        "chunk_size",
        "use_sendfile",
        "file",
        "stat",
        "data",
        "offset",
        "count",
    )

    def __init__(
        self,
        location: str | os.PathLike[str],
        status: int = 200,
        headers: HeadersLike = None,
        content_type: str | None = None,
        *,
        filename: str | None = None,
        max_age: int | None = None,
        no_store: bool = False,
        last_modified: bool | datetime | float = True,
        etag: bool | str = True,
        use_range: bool = True,
        use_conditional: bool = True,
        chunk_size: int = 262_144,
        use_sendfile: bool = True,
    ) -> None:
        super().__init__(status, headers, content_type)
        self.location = os.fspath(location)
        self.filename = filename
        self.max_age = max_age
        self.no_store = no_store
        self.last_modified = last_modified
        self.etag = etag
        self.use_range = use_range
        self.use_conditional = use_conditional
        self.chunk_size = chunk_size
        self.use_sendfile = use_sendfile
        # Set when the file is opened: the open file, or all of a small file's bytes; and its stat.
        self.file: IO[bytes] | None = None
        self.stat: os.stat_result | None = None
        self.data: bytes | None = None
        # Set when the pipeline prepares the response: the part of the file to send.
        self.offset = 0
        self.count = 0

    def __await__(self) -> Generator[Any, None, FileResponse]:
        return self
        yield  # pragma: no cover - makes this a generator

    def close(self) -> None:
        """Close the file if it was opened (the pipeline does this once the response is sent)."""
        f, self.file = self.file, None
        if f is not None:
            f.close()


def file(
    location: str | os.PathLike[str],
    status: int = 200,
    mime_type: str | None = None,
    headers: HeadersLike = None,
    filename: str | None = None,
    *,
    max_age: int | None = None,
    no_store: bool = False,
    last_modified: bool | datetime | float = True,
    etag: bool | str = True,
) -> FileResponse:
    """A file response: MIME type guessed from the name unless *mime_type*; *filename* makes it a download.

    Ranges, ``ETag``/``Last-Modified`` validators and 304 answers are handled for you; a missing file is a
    404.
    """
    return FileResponse(
        location,
        status,
        headers,
        mime_type,
        filename=filename,
        max_age=max_age,
        no_store=no_store,
        last_modified=last_modified,
        etag=etag,
    )


def file_stream(
    location: str | os.PathLike[str],
    status: int = 200,
    chunk_size: int = 65_536,
    mime_type: str | None = None,
    headers: HeadersLike = None,
    filename: str | None = None,
) -> FileResponse:
    """A file response read and written *chunk_size* bytes at a time (never with the kernel's sendfile)."""
    return FileResponse(
        location, status, headers, mime_type, filename=filename, chunk_size=chunk_size, use_sendfile=False
    )


# Streaming formats live in modules of their own; they build on the classes above.
from .ndjson import ndjson  # noqa: E402
from .sse import Event, sse  # noqa: E402
