"""The client's end of one connection: a socket, or an in-memory pipe into the server's protocol."""

from __future__ import annotations

import asyncio
import socket
import ssl as _ssl
import struct
from collections import deque
from typing import Protocol


class ByteStream(Protocol):
    """A bidirectional byte stream the client speaks HTTP/1.1 over."""

    async def send(self, data: bytes) -> None:
        """Send *data*, waiting while the peer is not taking any more."""
        ...

    async def receive(self) -> bytes:
        """The next bytes that arrived (``b""`` once the peer has closed)."""
        ...

    def send_eof(self) -> None:
        """Half-close: no more data from this side (a FIN)."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...

    def abort(self) -> None:
        """Reset the connection at once, dropping anything unsent (an RST on a socket)."""
        ...

    @property
    def local_port(self) -> int:
        """This end's port: the client's port as the server sees it."""
        ...


class _Receiver(asyncio.Protocol):
    """The client side of a TCP connection: what arrived stays readable even after a reset.

    (An `asyncio.StreamReader` raises a connection error before handing over data it already holds,
    which loses a server's early answer when the client's unsent body made the server reset.)
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.size = 0
        self.eof = False
        self.error: BaseException | None = None
        self.read_paused = False
        self.write_paused = False
        self._data_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # create_connection: a Transport

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)
        _wake(self._data_waiter)
        if self.size > READ_HIGH and not self.read_paused and self.transport is not None:
            self.read_paused = True
            self.transport.pause_reading()

    def eof_received(self) -> bool:
        self.eof = True
        _wake(self._data_waiter)
        return True  # keep the sending half open: a server may read the rest of a body after answering

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        if exc is not None:
            self.error = exc
        _wake(self._data_waiter)
        _wake(self._drain_waiter)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        _wake(self._drain_waiter)

    async def wait_data(self) -> None:
        self._data_waiter = asyncio.get_running_loop().create_future()
        try:
            await self._data_waiter
        finally:
            self._data_waiter = None

    async def wait_drained(self) -> None:
        self._drain_waiter = asyncio.get_running_loop().create_future()
        try:
            await self._drain_waiter
        finally:
            self._drain_waiter = None


READ_HIGH = 1 << 18


class SocketStream:
    """A `ByteStream` over a TCP connection on the running loop."""

    def __init__(self, transport: asyncio.Transport, receiver: _Receiver) -> None:
        self.transport = transport
        self.receiver = receiver

    @classmethod
    async def connect(cls, host: str, port: int, ssl: _ssl.SSLContext | None = None) -> SocketStream:
        """Open a connection to *host*:*port* (over TLS with *ssl*)."""
        loop = asyncio.get_running_loop()
        transport, receiver = await loop.create_connection(_Receiver, host, port, ssl=ssl)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(transport, receiver)

    @property
    def local_port(self) -> int:
        """This end's port (the server sees it as the client's port)."""
        return int(self.transport.get_extra_info("sockname")[1])

    async def send(self, data: bytes) -> None:  # noqa: D102
        receiver = self.receiver
        if self.transport.is_closing():
            raise receiver.error or ConnectionResetError("the connection is closed")
        self.transport.write(data)
        while receiver.write_paused and not self.transport.is_closing():
            await receiver.wait_drained()
        if receiver.error is not None:
            raise receiver.error

    async def receive(self) -> bytes:  # noqa: D102
        receiver = self.receiver
        while not receiver.chunks:
            if receiver.error is not None:
                raise receiver.error
            if receiver.eof:
                return b""
            await receiver.wait_data()
        data = receiver.chunks.popleft()
        receiver.size -= len(data)
        if receiver.read_paused and receiver.size <= READ_HIGH // 4:
            receiver.read_paused = False
            if not self.transport.is_closing():
                self.transport.resume_reading()
        return data

    def send_eof(self) -> None:  # noqa: D102
        if self.transport.can_write_eof() and not self.transport.is_closing():
            self.transport.write_eof()

    def close(self) -> None:  # noqa: D102
        self.transport.close()

    def abort(self) -> None:  # noqa: D102
        if self.receiver.error is not None or (self.receiver.eof and self.transport.is_closing()):
            return  # already gone
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            try:  # linger 0: the close sends an RST, not a FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except (OSError, ValueError):  # already closed
                pass
        self.transport.abort()


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)
