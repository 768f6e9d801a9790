"""`RequestStream`: a request body read chunk by chunk as it arrives, within the body size limit."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from .body_limit import over_limit, refuse_declared
from .exceptions import PayloadTooLarge

if TYPE_CHECKING:
    from .multipart import MultipartReader
    from .request import Request
    from .seam import BodySource


class RequestStream:
    """A request body read as it arrives: ``await get()`` gives each chunk, then ``None`` at the end.

    ``max_size`` (bytes, ``None`` for no limit) may be changed by the handler for this request; passing it
    makes ``get()`` raise `PayloadTooLarge`, and so does a *declared* length (the request's
    ``Content-Length``, as the carrier read it) over it, on the first ``get()`` (`pynecktie.body_limit`).
    ``request`` is the request whose body this is, when known.
    """

    __slots__ = ("_source", "max_size", "received", "_ended", "_declared", "_request")

    def __init__(
        self,
        source: BodySource,
        max_size: int | None,
        request: Request | None = None,
        declared: int | None = None,
    ) -> None:
        self._source = source
        self.max_size = max_size
        self.received = 0
        self._ended = False
        self._declared = declared
        # Weak: the request holds its stream, and a cycle would keep both (and the unread body in the
        # source) alive until the cyclic collector runs instead of freeing them when the request ends.
        self._request = weakref.ref(request) if request is not None else None

    @property
    def request(self) -> Request | None:
        """The request whose body this is, when known (and still alive)."""
        return self._request() if self._request is not None else None

    async def get(self) -> bytes | None:
        """The next chunk of the body, or ``None`` once it has ended."""
        if self._ended:
            return None
        if self._declared is not None:
            declared, self._declared = self._declared, None
            try:
                refuse_declared(declared, self.max_size)
            except PayloadTooLarge:
                self._ended = True
                raise
        chunk = await self._source.receive()
        if chunk is None:
            self._ended = True
            return None
        self.received += len(chunk)
        if self.max_size is not None and self.received > self.max_size:
            self._ended = True
            raise PayloadTooLarge(f"Request body exceeds {self.max_size} bytes")
        return chunk

    read_chunk = get

    @property
    def refuses_declared(self) -> bool:
        """True when the first ``get()`` will refuse the declared length (over ``max_size`` as it is now)."""
        return over_limit(self._declared, self.max_size)

    async def read(self) -> bytes:
        """The rest of the body, joined."""
        # One growing buffer, not a list of the chunks: a body of many tiny chunks would cost an object each.
        body = bytearray()
        while (chunk := await self.get()) is not None:
            body += chunk
        return bytes(body)

    @property
    def ended(self) -> bool:
        """True once ``get()`` has returned ``None`` (or failed for good)."""
        return self._ended

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    def multipart(self, *, content_type: str | None = None, **limits: int) -> MultipartReader:
        """The parts of a ``multipart/form-data`` body as they arrive; *limits* as `pynecktie.multipart` says.

        The boundary comes from the request's ``Content-Type`` unless *content_type* is given.
        """
        from .multipart import MultipartReader

        if content_type is None:
            content_type = self.request.content_type if self.request is not None else ""
        return MultipartReader(self, content_type, **limits)

    def ndjson(self, model: Any = None, **options: Any) -> AsyncIterator[Any]:
        """The body's JSON lines, each validated with *model* when given (see `pynecktie.ndjson`)."""
        from .ndjson import read_ndjson

        return read_ndjson(self, model, **options)

    async def _iterate(self) -> AsyncIterator[bytes]:
        while (chunk := await self.get()) is not None:
            yield chunk
