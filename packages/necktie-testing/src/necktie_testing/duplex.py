"""Full duplex in a test: send a request body piece by piece and read the answer in between."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import httpx

from .transport import Caller, StreamingTransport, TestResponse

T = TypeVar("T")
DEFAULT_TIMEOUT = 30.0


class AsyncDuplex:
    """One chunked request open both ways: ``await send(...)``, ``await receive()``, ``await end()``.

    The request goes out when the ``async with`` block opens; the response head is awaited only when
    asked for (``await response()`` or the first ``receive``), so the handler may read before answering.
    """

    def __init__(self, transport: StreamingTransport, request: httpx.Request) -> None:
        self.transport = transport
        self.request = request
        timeouts = request.extensions.get("timeout", {})
        self.timeout: float | None = timeouts.get("read", DEFAULT_TIMEOUT)
        self._queue: asyncio.Queue[bytes | None] | None = None
        self._task: asyncio.Future[TestResponse] | None = None
        self._body: AsyncIterator[bytes] | None = None
        self._ended = False
        self._finished = False

    async def open(self) -> AsyncDuplex:
        """Send the request head and start the body."""
        self._queue = asyncio.Queue()
        self._task = asyncio.ensure_future(self.transport.exchange(self.request, self._chunks()))
        return self

    async def _chunks(self) -> AsyncIterator[bytes]:
        assert self._queue is not None
        while (chunk := await self._queue.get()) is not None:
            yield chunk

    async def send(self, data: bytes | str) -> None:
        """Send one chunk of the request body."""
        if self._ended or self._queue is None:
            raise RuntimeError("the request body has already ended")
        await self._queue.put(data.encode() if isinstance(data, str) else bytes(data))

    async def end(self) -> None:
        """End the request body (a no-op the second time)."""
        if not self._ended and self._queue is not None:
            self._ended = True
            await self._queue.put(None)

    async def response(self) -> TestResponse:
        """The response, once its head has arrived (``httpx.ReadTimeout`` after the read timeout)."""
        assert self._task is not None, "open the duplex first (with / async with)"
        try:
            async with asyncio.timeout(self.timeout):
                return await asyncio.shield(self._task)
        except TimeoutError:
            raise httpx.ReadTimeout(f"no response head within {self.timeout}s") from None

    async def receive(self) -> bytes:
        """The next piece of the response body as it arrived; ``b""`` once the body has ended."""
        if self._body is None:
            self._body = (await self.response()).stream.__aiter__()  # type: ignore[union-attr]  # async here
        if self._finished:
            return b""
        try:
            return await self._body.__anext__()
        except StopAsyncIteration:
            self._finished = True
            return b""

    async def receive_until(self, marker: bytes | str) -> bytes:
        """Read until what was received contains *marker*; everything received is returned."""
        marker = marker.encode() if isinstance(marker, str) else marker
        received = b""
        while marker not in received:
            piece = await self.receive()
            if not piece:
                raise AssertionError(f"the response ended before {marker!r} arrived (got {received!r})")
            received += piece
        return received

    async def receive_all(self) -> bytes:
        """End the request body if needed and read the response to its end."""
        await self.end()
        parts = []
        while piece := await self.receive():
            parts.append(piece)
        return b"".join(parts)

    async def aclose(self) -> None:
        """End the body and close the connection."""
        await self.end()
        task = self._task
        if task is None:
            return
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return
        if not task.cancelled() and task.exception() is None:
            await task.result().stream.aclose()  # type: ignore[union-attr]  # an async body here

    async def __aenter__(self) -> AsyncDuplex:
        return await self.open()

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


class Duplex:
    """The sync face of `AsyncDuplex`, run on the test client's loop: ``with client.duplex(...) as d:``."""

    def __init__(self, call: Caller, inner: AsyncDuplex) -> None:
        self._call = call
        self.inner = inner

    def send(self, data: bytes | str) -> None:
        """Send one chunk of the request body."""
        self._call(lambda: self.inner.send(data))

    def end(self) -> None:
        """End the request body."""
        self._call(self.inner.end)

    @property
    def response(self) -> TestResponse:
        """The response, once its head has arrived."""
        return self._call(self.inner.response)

    def receive(self) -> bytes:
        """The next piece of the response body; ``b""`` once it has ended."""
        return self._call(self.inner.receive)

    def receive_until(self, marker: bytes | str) -> bytes:
        """Read until what was received contains *marker*; everything received is returned."""
        return self._call(lambda: self.inner.receive_until(marker))

    def receive_all(self) -> bytes:
        """End the request body if needed and read the response to its end."""
        return self._call(self.inner.receive_all)

    def close(self) -> None:
        """End the body and close the connection."""
        self._call(self.inner.aclose)

    def __enter__(self) -> Duplex:
        self._call(self.inner.open)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
