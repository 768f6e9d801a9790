"""The client's end of one connection: a socket, or an in-memory pipe into the server's protocol."""

from __future__ import annotations

import asyncio
import socket
import struct
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


class SocketStream:
    """A `ByteStream` over a TCP connection on the running loop."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, host: str, port: int) -> SocketStream:
        """Open a connection to *host*:*port*."""
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 16)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    @property
    def local_port(self) -> int:
        """This end's port (the server sees it as the client's port)."""
        return int(self.writer.get_extra_info("sockname")[1])

    async def send(self, data: bytes) -> None:  # noqa: D102
        self.writer.write(data)
        await self.writer.drain()

    async def receive(self) -> bytes:  # noqa: D102
        return await self.reader.read(1 << 16)

    def send_eof(self) -> None:  # noqa: D102
        if self.writer.can_write_eof() and not self.writer.is_closing():
            self.writer.write_eof()

    def close(self) -> None:  # noqa: D102
        self.writer.close()

    def abort(self) -> None:  # noqa: D102
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            try:  # linger 0: the close sends an RST, not a FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.writer.transport.abort()
