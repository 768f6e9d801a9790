"""Response compression: whether a response is compressed, and the sink wrapper that does it.

`Compression` holds the app's settings (``COMPRESSION_*``). The pipeline asks it once per response, after
response middleware, and gets either the carrier's own sink back (nothing to do) or a `CompressingSink`
around it; so necktie-server, the ASGI adapter and the test transport all compress the same way. A
streamed response stays a stream: each ``write()`` goes out compressed and flushed.

Never compressed: ``HEAD`` answers, statuses without a body, partial content (206), a response that set
its own ``Content-Encoding``, one with ``Cache-Control: no-transform``, one whose ``compress`` is False, a
content type not in ``COMPRESSION_TYPES``, and a body known to be under ``COMPRESSION_MIN_SIZE``.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from . import codings
from .headers import add_vary
from .heads import NO_BODY_STATUSES, declared_length
from .response import FileResponse, HTTPResponse

if TYPE_CHECKING:
    from .app import Necktie
    from .config import Config
    from .request import Request
    from .response import BaseHTTPResponse
    from .route import Route
    from .seam import ResponseSink

__all__ = ["Compression", "CompressingSink", "add_vary", "install_compression"]


class Compression:
    """The compression settings of an app (or of a route that turns it on), and the per-response decision."""

    __slots__ = ("offered", "min_size", "exact", "prefixes", "suffixes")

    def __init__(self, config: Config) -> None:
        self.offered = codings.usable(config.COMPRESSION_CODINGS)
        self.min_size: int = config.COMPRESSION_MIN_SIZE
        types = [t.strip().lower() for t in config.COMPRESSION_TYPES]
        self.exact = frozenset(t for t in types if not t.endswith("/") and not t.startswith("+"))
        self.prefixes = tuple(t for t in types if t.endswith("/"))
        self.suffixes = tuple(t for t in types if t.startswith("+"))

    def compressible(self, content_type: str | None) -> bool:
        """Whether a body of *content_type* is worth compressing (``COMPRESSION_TYPES``: exact types,
        ``text/``-like prefixes, ``+json``-like suffixes)."""
        if not content_type:
            return False
        mime = content_type.partition(";")[0].strip().lower()
        return mime in self.exact or mime.startswith(self.prefixes) or mime.endswith(self.suffixes)

    def coding_for(self, request: Request, response: BaseHTTPResponse) -> str | None:
        """The coding to send *response* in, or None; adds ``Vary: Accept-Encoding`` when the answer
        depended on the request's ``Accept-Encoding``."""
        status = response.status
        if status in NO_BODY_STATUSES or status == 206 or response.compress is False:
            return None
        headers = response._headers
        content_type = response.content_type
        if headers:
            if "content-encoding" in headers:
                return None
            if "no-transform" in headers.get("cache-control", "").lower():
                return None
            content_type = headers.get("content-type", content_type)
        if not self.compressible(content_type) or self._too_small(response):
            return None
        add_vary(response.headers, "Accept-Encoding")
        if request.method == "HEAD":
            return None
        accept = request.headers.get("accept-encoding")
        return None if accept is None else codings.negotiate(accept, self.offered)

    def _too_small(self, response: BaseHTTPResponse) -> bool:
        if type(response) is HTTPResponse:
            return len(response.body) < self.min_size
        if isinstance(response, FileResponse):
            return response.count < self.min_size
        headers = response._headers
        length = declared_length(headers.get("content-length")) if headers else None
        return length is not None and length < self.min_size

    def wrap(self, request: Request, response: BaseHTTPResponse, sink: ResponseSink) -> ResponseSink:
        """*sink* itself, or a `CompressingSink` around it when *response* is to be compressed (its
        headers then say so: ``Content-Encoding``, no ``Content-Length``, a weak ``ETag``)."""
        coding = self.coding_for(request, response)
        if coding is None:
            return sink
        headers = response.headers
        headers["Content-Encoding"] = coding
        if "content-length" in headers:
            del headers["content-length"]
        etag = headers.get("etag")
        if etag is not None and not etag.startswith("W/"):
            headers["ETag"] = "W/" + etag  # the compressed bytes differ: a strong validator would lie
        return CompressingSink(sink, codings.encoder(coding))


class CompressingSink:
    """A `ResponseSink` that compresses the body on its way to the carrier's sink."""

    __slots__ = ("_sink", "_encoder")

    def __init__(self, sink: ResponseSink, encoder: codings.Encoder) -> None:
        self._sink = sink
        self._encoder = encoder

    @property
    def started(self) -> bool:
        """True once the head went to the carrier."""
        return self._sink.started

    async def send(self, response: BaseHTTPResponse, body: bytes) -> None:
        """Send *response* with its whole *body* compressed."""
        encoder = self._encoder
        await self._sink.send(response, encoder.write(body) + encoder.finish())

    async def start(self, response: BaseHTTPResponse) -> None:
        """Send the head (its ``Content-Encoding`` set by `Compression.wrap`)."""
        await self._sink.start(response)

    def write(self, data: bytes) -> Awaitable[None]:
        """Compress *data*, flushed, and hand it to the carrier."""
        return self._sink.write(self._encoder.write(data) if data else data)

    async def end(self) -> None:
        """Write the end of the compressed stream and end the response."""
        tail = self._encoder.finish()
        if tail:
            await self._sink.write(tail)
        await self._sink.end()

    def abort(self) -> None:
        """Give up on the response (the carrier's sink does)."""
        self._sink.abort()


def install_compression(app: Necktie) -> None:
    """Decide, when *app* is finalized, which of its routes compress (``route.compression``) and whether
    answers to requests that match no route do (``app._compression``)."""
    app._compression = shared = Compression(app.config) if app.config.COMPRESSION else None
    for route in app.router.all_routes():
        route.compression = settings_for(app.config, route, shared)


def settings_for(config: Config, route: Route, shared: Compression | None) -> Compression | None:
    """*route*'s compression: as its own ``compress=`` says, else its blueprint's, else *shared* (the
    app's, None when ``COMPRESSION`` is off)."""
    switch = route.ctx.get("compress", getattr(route.blueprint, "compress", None))
    if switch is None:
        return shared
    if not switch:
        return None
    return shared if shared is not None else Compression(config)
