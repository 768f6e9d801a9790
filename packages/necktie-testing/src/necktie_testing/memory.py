"""In-process mode: the real `necktie_server` protocol driven over an in-memory transport, no socket.

`MemoryTransport` is what the server's protocol writes to and pauses; `MemoryStream` is the client's end of
the same pipe. Both directions are bounded the way a socket is: the client's ``send`` waits while the
protocol has stopped reading, and the protocol is told to pause writing while the client has not read
what it wrote. `InProcessServer` runs the app's listeners and hands out connections.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
from collections import deque
from collections.abc import Callable
from typing import Any

from necktie_server.server import Server
from pynecktie import Necktie

_ports = itertools.count(40000)
PIPE_LIMIT = 1 << 16  # what the client may have in flight towards the protocol, like a socket buffer


class MemoryTransport(asyncio.Transport):
    """The server's side of an in-memory connection (the transport the server's protocol is given).

    It speaks to the protocol only through `asyncio.Protocol`'s methods, as a socket transport does.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, protocol: asyncio.Protocol, peer: tuple[str, int]
    ) -> None:
        super().__init__()
        self.loop = loop
        self.protocol = protocol
        self._context = contextvars.Context()
        self._extra = {"peername": peer, "sockname": ("127.0.0.1", 0), "sslcontext": None, "socket": None}
        # towards the client
        self._outbox: deque[bytes] = deque()
        self._out_size = 0
        self._high = 1 << 16
        self._low = self._high // 4
        self._protocol_paused = False
        self._client_waiter: asyncio.Future[None] | None = None
        self._out_eof = False
        # towards the server
        self._inbox: deque[bytes] = deque()
        self._in_size = 0
        self._in_eof = False
        self._reading = True
        self._send_waiter: asyncio.Future[None] | None = None
        self._delivering = False
        # ends
        self._closing = False  # the server closed (the client reads what is left, then EOF)
        self._reset = False  # the server aborted: the client sees a reset
        self._client_gone = False  # the client closed or aborted
        self._lost = False

    # -- asyncio.Transport, as the protocol uses it ---------------------------------------------------
    def get_extra_info(self, name: str, default: Any = None) -> Any:  # noqa: D102
        return self._extra.get(name, default)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:  # noqa: D102
        self._high = 1 << 16 if high is None else high
        self._low = self._high // 4 if low is None else low

    def get_write_buffer_size(self) -> int:  # noqa: D102
        return self._out_size

    def write(self, data: bytes | bytearray | memoryview) -> None:  # noqa: D102
        if self._closing or self._lost or self._out_eof:
            return
        if self._client_gone:
            self._lose(ConnectionResetError("the client closed the connection"))
            return
        if not data:
            return
        self._outbox.append(bytes(data))
        self._out_size += len(data)
        _wake(self._client_waiter)
        if not self._protocol_paused and self._out_size > self._high:
            self._protocol_paused = True
            # In a copy, as uvloop does: a write may come while the context is entered (a handler task
            # started eagerly from data_received), and a context cannot be entered twice.
            self._context.copy().run(self.protocol.pause_writing)

    def writelines(self, list_of_data: Any) -> None:  # noqa: D102
        self.write(b"".join(list_of_data))

    def can_write_eof(self) -> bool:  # noqa: D102
        return True

    def write_eof(self) -> None:  # noqa: D102
        # Half-close: the client reads what is buffered, then the end; the protocol may still read.
        if not self._closing and not self._lost:
            self._out_eof = True
            _wake(self._client_waiter)

    def get_protocol(self) -> asyncio.BaseProtocol:  # noqa: D102
        return self.protocol

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:  # noqa: D102
        self.protocol = protocol  # type: ignore[assignment]  # the server hands over its own protocols

    def is_closing(self) -> bool:  # noqa: D102
        return self._closing or self._lost

    def close(self) -> None:  # noqa: D102
        if self._closing:
            return
        self._closing = True
        _wake(self._client_waiter)
        self.loop.call_soon(self._lose, None)

    def abort(self) -> None:  # noqa: D102
        self._reset = True
        self._outbox.clear()
        self._out_size = 0
        self.close()

    def pause_reading(self) -> None:  # noqa: D102
        self._reading = False

    def resume_reading(self) -> None:  # noqa: D102
        if not self._reading:
            self._reading = True
            self._schedule_delivery()

    def is_reading(self) -> bool:  # noqa: D102
        return self._reading and not self._closing

    # -- delivery to the protocol ---------------------------------------------------------------------
    def _schedule_delivery(self) -> None:
        if not self._delivering:
            self._delivering = True
            self.loop.call_soon(self._deliver, context=self._context)

    def _deliver(self) -> None:
        self._delivering = False
        while self._inbox and self._reading and not self._lost:
            data = self._inbox.popleft()
            self._in_size -= len(data)
            self.protocol.data_received(data)  # looked up each time: an upgrade may swap the protocol
        if not self._inbox and self._in_eof and not self._lost and not self._closing:
            self._in_eof = False
            if not self.protocol.eof_received():
                self.close()
        if self._in_size < PIPE_LIMIT:
            _wake(self._send_waiter)

    def _lose(self, exc: Exception | None) -> None:
        if self._lost:
            return
        self._lost = True
        _wake(self._client_waiter)
        _wake(self._send_waiter)
        self._context.copy().run(self.protocol.connection_lost, exc)  # (in a copy: see write)


class MemoryStream:
    """The client's end of an in-memory connection (a `ByteStream`)."""

    def __init__(self, transport: MemoryTransport) -> None:
        self.transport = transport

    @property
    def local_port(self) -> int:
        """The port the server believes this client has."""
        return int(self.transport.get_extra_info("peername")[1])

    async def send(self, data: bytes) -> None:  # noqa: D102
        t = self.transport
        while True:
            if t._lost or t._client_gone or t._reset or t._closing:
                raise ConnectionResetError("the server closed the connection")
            if t._in_size < PIPE_LIMIT:
                break
            t._send_waiter = t.loop.create_future()
            await t._send_waiter
        if data:
            t._inbox.append(bytes(data))
            t._in_size += len(data)
            t._schedule_delivery()

    async def receive(self) -> bytes:  # noqa: D102
        t = self.transport
        while not t._outbox:
            if t._reset:
                raise ConnectionResetError("the server reset the connection")
            if t._closing or t._lost or t._out_eof:
                return b""
            t._client_waiter = t.loop.create_future()
            try:
                await t._client_waiter
            finally:
                t._client_waiter = None
        data = t._outbox.popleft()
        t._out_size -= len(data)
        if t._protocol_paused and t._out_size <= t._low:
            t._protocol_paused = False
            t._context.copy().run(t.protocol.resume_writing)  # (in a copy: see write)
        return data

    def send_eof(self) -> None:  # noqa: D102
        t = self.transport
        if not t._in_eof and not t._lost:
            t._in_eof = True
            t._schedule_delivery()

    def close(self) -> None:  # noqa: D102
        t = self.transport
        if t._client_gone:
            return
        self.send_eof()
        t._client_gone = True

    def abort(self) -> None:  # noqa: D102
        t = self.transport
        t._client_gone = True
        t._inbox.clear()
        t._in_size = 0
        t.loop.call_soon(t._lose, ConnectionResetError("the client reset the connection"))


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class _MemoryListener:
    """Stands where a listening socket would: connections are made by `InProcessServer.connect`."""

    sockets: tuple[()] = ()

    def close(self) -> None:
        """Nothing listens, so nothing to close."""


class InProcessServer(Server):
    """The app served by necktie-server's real protocol on the running loop, connections made in memory.

    It is a `necktie_server.Server` that listens on nothing: ``await start()`` and ``await stop()`` run the
    listeners and the graceful shutdown exactly as for a socket, and ``connect()`` opens a connection.
    """

    def __init__(self, app: Necktie, *, access_log: bool | None = None) -> None:
        super().__init__(app, access_log=access_log)
        self._factory: Callable[[], asyncio.Protocol] | None = None

    async def _listen(self, loop: asyncio.AbstractEventLoop, factory: Callable[[], asyncio.Protocol]) -> Any:
        self._factory = factory
        return _MemoryListener()

    @property
    def started(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return self._factory is not None and self.state is not None and not self.state.stopping

    def connect(self) -> MemoryStream:
        """A new connection to the protocol (on the server's loop)."""
        state = self.state
        if not self.started or state is None or self._factory is None:
            raise RuntimeError("the in-process server is not running")
        context = contextvars.Context()
        protocol = context.run(self._factory)
        transport = MemoryTransport(state.loop, protocol, ("127.0.0.1", next(_ports)))
        context.run(protocol.connection_made, transport)
        return MemoryStream(transport)
