"""httpx transports that stream both ways, over a socket to a live server or in memory to the protocol.

httpx's own ASGI transport collects a whole response before returning it; these return the response as
soon as its head arrives and hand the body over chunk by chunk while the handler is still writing it.
"""

from __future__ import annotations

import asyncio
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
)
from typing import Any, Protocol, TypeVar

import httpx

from .capture import ExchangeLog, LogCapture, format_record
from .exchange import Exchange
from .streams import ByteStream

T = TypeVar("T")
Connector = Callable[[], Awaitable[ByteStream]]
_END = object()


class Caller(Protocol):
    """What runs the transport's work on its loop for a sync client (`TestClient._call`)."""

    def __call__(self, fn: Callable[[], Coroutine[Any, Any, T]], /) -> T:
        """Run ``fn()`` on the transport's loop, from another thread, and return its result."""
        ...


class TestResponse(httpx.Response):
    """An `httpx.Response` that also tells what happened on the server while it was being produced."""

    __test__ = False

    def __init__(self, *args: Any, exchange_log: ExchangeLog | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exchange_log = exchange_log

    @property
    def request_handler_exception(self) -> BaseException | None:
        """The exception the server logged while handling this request (None when it logged none).

        Exceptions an app's own error handler turned into a response, and quiet ones such as ``NotFound``,
        are not logged, so they are not reported here either.
        """
        return self.exchange_log.exception() if self.exchange_log is not None else None

    @property
    def server_log(self) -> list[str]:
        """The server's log lines about this request, as ``LEVEL logger: message``."""
        if self.exchange_log is None:
            return []
        return [format_record(r) for r in self.exchange_log.records()]


class AsyncSource(httpx.SyncByteStream):
    """A request body produced asynchronously, handed through a sync client to the transport's loop."""

    def __init__(self, source: AsyncIterable[bytes | str]) -> None:
        self.source = source

    def __iter__(self) -> Iterator[bytes]:
        raise RuntimeError("an asynchronous request body is only read by the necktie test transport")


class ThreadedSource(httpx.AsyncByteStream):
    """A sync iterable request body for an async client: each chunk is pulled in a worker thread."""

    def __init__(self, source: Iterable[bytes | str]) -> None:
        self.source = source

    async def __aiter__(self) -> AsyncIterator[bytes]:
        iterator = iter(self.source)
        while (chunk := await asyncio.to_thread(next, iterator, _END)) is not _END:
            yield _to_bytes(chunk)


def _to_bytes(chunk: bytes | str | Any) -> bytes:
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    return bytes(chunk)


async def _async_chunks(source: AsyncIterable[Any]) -> AsyncIterator[bytes]:
    async for chunk in source:
        yield _to_bytes(chunk)


async def _one(data: bytes) -> AsyncIterator[bytes]:
    if data:
        yield data


def request_body(stream: Any) -> AsyncIterator[bytes]:
    """The chunks of an httpx request's body, as an async iterator for the exchange."""
    if isinstance(stream, httpx.ByteStream):
        return _one(b"".join(stream))
    if isinstance(stream, AsyncSource):
        return _async_chunks(stream.source)
    if isinstance(stream, (httpx.AsyncByteStream, AsyncIterable)) and hasattr(stream, "__aiter__"):
        return _async_chunks(stream)
    return ThreadedSource(stream).__aiter__()


class ResponseBody(httpx.AsyncByteStream):
    """A response body read from its connection chunk by chunk.

    With *raise_handler_exceptions*, the exception the server logged for the request is raised once the
    body has been read (or instead of the error a body cut short by it gives).
    """

    def __init__(self, exchange: Exchange, log: ExchangeLog, raise_handler_exceptions: bool = False) -> None:
        self.exchange = exchange
        self.log = log
        self.raise_handler_exceptions = raise_handler_exceptions
        self._body = exchange.body()

    async def __aiter__(self) -> AsyncGenerator[bytes, None]:
        try:
            async for chunk in self._body:
                yield chunk
        except httpx.TransportError as error:
            self.log.finish()
            handler_error = self._handler_exception()
            if handler_error is not None:
                raise handler_error from error
            raise
        finally:
            self.log.finish()
        handler_error = self._handler_exception()
        if handler_error is not None:
            raise handler_error

    def _handler_exception(self) -> BaseException | None:
        return self.log.exception() if self.raise_handler_exceptions else None

    async def aclose(self) -> None:  # noqa: D102
        await self._body.aclose()
        self.log.finish()


class StreamingTransport(httpx.AsyncBaseTransport):
    """An async httpx transport: one connection per exchange, from *connect*, on the running loop."""

    def __init__(
        self,
        connect: Connector,
        capture: LogCapture | None = None,
        before: Callable[[], Awaitable[object]] | None = None,
        raise_handler_exceptions: bool = False,
    ) -> None:
        self.connect = connect
        self.capture = capture
        self.before = before
        self.raise_handler_exceptions = raise_handler_exceptions

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:  # noqa: D102
        return await self.exchange(request, request_body(request.stream))

    async def exchange(self, request: httpx.Request, body: AsyncIterator[bytes] | None) -> TestResponse:
        """Send *request* with *body* and return its response as soon as the head has arrived."""
        if self.before is not None:
            await self.before()
        timeouts = request.extensions.get("timeout", {})
        try:
            stream = await asyncio.wait_for(self.connect(), timeouts.get("connect"))
        except (OSError, TimeoutError) as exc:
            raise httpx.ConnectError(f"could not connect to the server: {exc!r}", request=request) from exc
        log = ExchangeLog(self.capture, stream.local_port)
        exchange = Exchange(stream, timeouts.get("read"))
        head = await exchange.start(
            request.method.encode("ascii"), request.url.raw_path, list(request.headers.raw), body
        )
        response = TestResponse(
            head.status_code,
            headers=head.headers,
            stream=ResponseBody(exchange, log, self.raise_handler_exceptions),
            extensions={"http_version": b"HTTP/" + head.http_version, "reason_phrase": head.reason},
            exchange_log=log,
        )
        response.request = request
        return response


class SyncResponseBody(httpx.SyncByteStream):
    """A response body read on the transport's loop and handed to a sync caller chunk by chunk."""

    def __init__(self, call: Caller, body: ResponseBody) -> None:
        self._call = call
        self._body = body
        self._iterator: AsyncGenerator[bytes, None] | None = None

    def __iter__(self) -> Iterator[bytes]:
        iterator = self._iterator = self._body.__aiter__()

        async def step() -> bytes | None:
            try:
                return await iterator.__anext__()
            except StopAsyncIteration:
                return None  # (a chunk is never None)

        while (chunk := self._call(step)) is not None:
            yield chunk

    def close(self) -> None:  # noqa: D102
        iterator = self._iterator

        async def close() -> None:
            if iterator is not None:
                await iterator.aclose()
            await self._body.aclose()

        try:
            self._call(close)
        except RuntimeError:  # the client (and its loop) has stopped: the connection went with it
            pass


class SyncStreamingTransport(httpx.BaseTransport):
    """A sync httpx transport: the async one, run on a loop in another thread."""

    def __init__(self, call: Caller, transport: StreamingTransport) -> None:
        self.call = call
        self.transport = transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:  # noqa: D102
        body = request_body(request.stream)
        response = self.call(lambda: self.transport.exchange(request, body))
        assert isinstance(response.stream, ResponseBody)  # as exchange() builds it
        response.stream = SyncResponseBody(self.call, response.stream)
        return response
