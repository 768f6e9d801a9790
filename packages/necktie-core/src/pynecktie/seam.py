"""The seam between the request pipeline and a carrier (necktie-server, the ASGI adapter, a test transport).

A carrier parses requests its own way, builds a `pynecktie.request.Request` with a `BodySource`, and hands it
to `Necktie.handle(request, sink)` with a `ResponseSink`. Everything else — routing, middleware, handlers,
errors, response framing decisions — is the pipeline's, so it behaves the same under every carrier.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import IO, TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .response import BaseHTTPResponse, FileResponse


class BodySource(Protocol):
    """Where a request body comes from, pulled by the handler."""

    async def receive(self) -> bytes | None:
        """The body's next chunk; ``None`` once it has ended.

        Raises `pynecktie.exceptions.ConnectionClosed` when the client went away and
        `pynecktie.exceptions.RequestTimeout` when it stopped sending.
        """
        ...


class ResponseSink(Protocol):
    """Where a response goes. The pipeline calls ``send`` once, or ``start`` then ``write``s and ``end``."""

    @property
    def started(self) -> bool:
        """True once the head of a response has been handed to the carrier."""
        ...

    async def send(self, response: BaseHTTPResponse, body: bytes) -> None:
        """Send a complete response: its head and its whole *body*."""
        ...

    async def start(self, response: BaseHTTPResponse) -> None:
        """Send the head of a streamed response (framing chosen by the carrier)."""
        ...

    def write(self, data: bytes) -> Awaitable[None]:
        """Queue *data* in order at once; the awaitable completes when the carrier has room for more."""
        ...

    async def end(self) -> None:
        """Finish a streamed response (the terminating chunk, or the close for HTTP/1.0)."""
        ...

    def abort(self) -> None:
        """Give up on the response: close the connection without ending the body, or without any
        response when none was started (the handler was cancelled). Does nothing once the response ended."""
        ...


class FileSink(ResponseSink, Protocol):
    """A sink that can send a file body itself (necktie-server: the kernel's ``sendfile``).

    Optional: the pipeline uses ``send_file`` when a sink has it, and otherwise reads the file in chunks
    and goes through ``start``/``write``/``end`` (`pynecktie.files.send_chunked`).
    """

    async def send_file(self, response: FileResponse, file: IO[bytes], offset: int, count: int) -> None:
        """Send the head of *response* (which declares ``Content-Length: count``), then *count* bytes of
        *file* from *offset*, then end the response. The pipeline closes *file* afterwards."""
        ...
