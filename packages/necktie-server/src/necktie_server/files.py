"""Sending a file body: the kernel's ``sendfile`` on a plain TCP socket, chunked reads otherwise.

uvloop does not implement ``loop.sendfile``, and its transports refuse ``add_writer`` on their own
socket, so the body is written straight to a duplicate of the socket's descriptor: only once the
transport's own buffer is empty (so bytes stay in order), and waiting for writability on the duplicate.
While this runs the cycle is the connection's only writer (later pipelined responses wait their turn).
TLS, an unflushed transport buffer, or a transport without a socket (an in-memory test transport) fall
back to reading the file in a worker thread and writing through the transport, with the usual back-pressure.
"""

from __future__ import annotations

import asyncio
import os
from typing import IO, TYPE_CHECKING

from pynecktie.exceptions import ConnectionClosed
from pynecktie.files import read_chunks

if TYPE_CHECKING:
    import socket

    from .cycle import Cycle
    from .protocol import HttpProtocol

SENDFILE_CHUNK = 1 << 22  # at most this much per sendfile call, then let other tasks run


def _socket_fd(protocol: HttpProtocol) -> int | None:
    """The socket descriptor to sendfile to, or None when sendfile cannot be used now."""
    transport = protocol.transport
    if transport is None or protocol.closed or not hasattr(os, "sendfile"):
        return None
    if transport.get_extra_info("sslcontext") is not None:
        return None
    sock: socket.socket | None = transport.get_extra_info("socket")
    if sock is None:
        return None
    try:
        if transport.get_write_buffer_size():
            return None
        return sock.fileno()
    except (AttributeError, OSError):
        return None


async def send_body(
    cycle: Cycle, file: IO[bytes], offset: int, count: int, chunk_size: int = 262_144
) -> None:
    """Write *count* bytes of *file* from *offset* as the body of *cycle*'s response (head already sent)."""
    protocol = cycle.protocol
    fd = _socket_fd(protocol)
    if fd is not None:
        sent = await _sendfile(protocol, fd, file, offset, count)
        cycle.sent += sent
        cycle.remaining -= sent
        return
    async for chunk in read_chunks(file, offset, count, chunk_size):
        await cycle.write(chunk)


async def _sendfile(protocol: HttpProtocol, sock_fd: int, file: IO[bytes], offset: int, count: int) -> int:
    loop = protocol.loop
    timeout = protocol.settings.write_timeout or None
    in_fd = file.fileno()
    out_fd = os.dup(sock_fd)
    sent = 0
    try:
        while sent < count:
            if protocol.closed:
                raise ConnectionClosed("the client closed the connection")
            try:
                n = os.sendfile(out_fd, in_fd, offset + sent, min(count - sent, SENDFILE_CHUNK))
            except BlockingIOError:
                await _writable(loop, out_fd, timeout, protocol)
                continue
            except (BrokenPipeError, ConnectionError) as exc:
                raise ConnectionClosed("the client closed the connection") from exc
            if n == 0:  # the file is shorter than announced: the cycle will close the connection
                break
            sent += n
            if sent < count:
                await asyncio.sleep(0)
    finally:
        os.close(out_fd)
    return sent


async def _writable(
    loop: asyncio.AbstractEventLoop, fd: int, timeout: float | None, protocol: HttpProtocol
) -> None:
    """Wait until *fd* can take more bytes; a client that reads nothing for *timeout* seconds is cut off."""
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_writer(fd, wake)
    try:
        async with asyncio.timeout(timeout):
            await ready
    except TimeoutError:
        if protocol.transport is not None:
            protocol.transport.abort()
        raise ConnectionClosed(f"the client read nothing for {timeout}s") from None
    finally:
        loop.remove_writer(fd)
