"""One HTTP/1.1 request/response over a `ByteStream`, spoken with h11, both bodies streamed.

The request body is sent by a task of its own while the response is read, so a test can read the
answer to its first chunk before it has sent the second (full duplex). Every read has a timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

import h11
import httpx

from .streams import ByteStream


class Exchange:
    """A request sent and its response read on a connection of its own (closed when done)."""

    def __init__(self, stream: ByteStream, read_timeout: float | None) -> None:
        self.stream = stream
        self.read_timeout = read_timeout
        self.h11 = h11.Connection(h11.CLIENT)
        self._sender: asyncio.Task[None] | None = None
        self._sent_progress = 0
        self._send_error: BaseException | None = None
        self.closed = False

    async def start(
        self,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: AsyncIterator[bytes] | None,
    ) -> h11.Response:
        """Send the head, start sending *body*, and wait for the response head."""
        try:
            await self._send(h11.Request(method=method, target=target, headers=headers))
        except OSError as exc:
            self.close()
            raise httpx.WriteError(f"could not send the request: {exc}") from exc
        self._sender = asyncio.ensure_future(self._send_body(body))
        try:
            while True:
                event = await self._next_event(head=True)
                if isinstance(event, h11.Response):
                    return event
                if isinstance(event, h11.InformationalResponse):
                    continue
                raise httpx.RemoteProtocolError(f"the server closed the connection, no response ({event})")
        except BaseException:
            self.abort()
            raise

    async def _send(self, event: h11.Event) -> None:
        data = self.h11.send(event)
        if data:
            await self.stream.send(data)

    async def _send_body(self, body: AsyncIterator[bytes] | None) -> None:
        try:
            while body is not None:
                try:
                    chunk = await body.__anext__()
                except StopAsyncIteration:
                    break
                except Exception as exc:  # the caller's body source failed: surface it on the next read
                    self._send_error = exc
                    self.stream.abort()
                    self.closed = True
                    return
                if chunk:
                    await self._send(h11.Data(data=chunk))
                    self._sent_progress += 1
            await self._send(h11.EndOfMessage())
        except (OSError, h11.LocalProtocolError):
            # The server stopped reading (it answered early, or went away): the response tells the story.
            pass

    async def _receive(self, head: bool) -> bytes:
        while True:
            progress = self._sent_progress
            try:
                async with asyncio.timeout(self.read_timeout):
                    return await self.stream.receive()
            except TimeoutError:
                # Waiting for a head while the body still goes out is not a stall: the server may answer late.
                still_sending = self._sender is not None and not self._sender.done()
                if head and still_sending and self._sent_progress != progress:
                    continue
                raise httpx.ReadTimeout(f"no response data within {self.read_timeout}s") from None
            except OSError as exc:
                raise httpx.ReadError(f"the connection failed: {exc}") from exc

    async def _next_event(self, head: bool = False) -> h11.Event:
        conn = self.h11
        while True:
            if self._send_error is not None:
                raise self._send_error
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc)) from exc
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]  # not PAUSED: one request per connection
            data = await self._receive(head)
            if self._send_error is not None:
                raise self._send_error
            conn.receive_data(data)

    async def body(self) -> AsyncGenerator[bytes, None]:
        """The response body, chunk by chunk as it arrives; the connection is closed at its end.

        Left before its end, the connection is reset, so the server sees the client go away at once.
        """
        complete = False
        try:
            while True:
                event = await self._next_event()
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                    complete = True
                    return
                else:
                    raise httpx.RemoteProtocolError(f"unexpected {event!r} in the response body")
        finally:
            if complete:
                self.close()
            else:
                self.abort()

    def close(self) -> None:
        """Close the connection and stop sending."""
        if self._sender is not None and not self._sender.done():
            self._sender.cancel()
        if not self.closed:
            self.closed = True
            self.stream.close()

    def abort(self) -> None:
        """Reset the connection."""
        if self._sender is not None and not self._sender.done():
            self._sender.cancel()
        self.closed = True
        self.stream.abort()
