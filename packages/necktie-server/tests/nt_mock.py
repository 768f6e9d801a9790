"""Drive `HttpProtocol` without sockets: a transport that records what happens and a clock tests move.

``Conn`` wires one protocol to a `MockTransport` on the running loop; timers the server sets through its
state's loop go to a `FakeClock`, so timeouts are tested in microseconds and never depend on real time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import Any

from necktie_server.protocol import HttpProtocol
from necktie_server.server import ServerState
from necktie_server.settings import ServerSettings
from nt_rawhttp import Answer, parse_all
from pynecktie import Necktie


class FakeClock:
    """The running loop, except that ``time``, ``call_at`` and ``call_later`` follow a clock moved by hand."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.now = 1000.0
        self._timers: list[tuple[float, int, asyncio.TimerHandle]] = []
        self._seq = itertools.count()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any,
                context: Any = None) -> asyncio.TimerHandle:
        handle = asyncio.TimerHandle(when, callback, args, self._loop, context=context)
        heapq.heappush(self._timers, (when, next(self._seq), handle))
        return handle

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any,
                   context: Any = None) -> asyncio.TimerHandle:
        return self.call_at(self.now + delay, callback, *args, context=context)

    @property
    def pending(self) -> int:
        """Timers not cancelled and not yet fired."""
        return sum(1 for _, _, h in self._timers if not h.cancelled())

    def advance(self, seconds: float) -> None:
        """Move the clock, firing every timer that falls due, in order."""
        target = self.now + seconds
        while self._timers and self._timers[0][0] <= target:
            when, _, handle = heapq.heappop(self._timers)
            self.now = max(self.now, when)
            if not handle.cancelled():
                handle._run()
        self.now = target


class MockTransport(asyncio.Transport):
    """Records writes, pause/resume of reading, EOF and close; closing reports ``connection_lost`` soon."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._loop = loop
        self.protocol: HttpProtocol | None = None
        self.data = bytearray()
        self.reading = True
        self.closed = False
        self.aborted = False
        self.eof_written = False
        self.pauses = 0

    def set_protocol(self, protocol: Any) -> None:
        self.protocol = protocol  # a websocket upgrade hands the transport over

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closed, "write after close"
        assert not self.eof_written, "write after EOF"
        self.data += data

    def writelines(self, parts: Any) -> None:
        for part in parts:
            self.write(part)

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof_written = True

    def is_closing(self) -> bool:
        return self.closed

    def _lose(self) -> None:
        if not self.closed:
            self.closed = True
            self._loop.call_soon(self.protocol.connection_lost, None)  # type: ignore[union-attr]

    def close(self) -> None:
        self._lose()

    def abort(self) -> None:
        self.aborted = True
        self._lose()

    def pause_reading(self) -> None:
        if self.reading:
            self.pauses += 1
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_reading(self) -> bool:
        return self.reading


class Conn:
    """One connection of *app* over a mock transport: ``feed`` bytes, ``settle`` the loop, read
    ``answers``."""

    def __init__(self, app: Necktie) -> None:
        loop = asyncio.get_running_loop()
        self.clock = FakeClock(loop)
        app.finalize()
        self.state = ServerState(app, ServerSettings.from_config(app.config), self.clock)  # type: ignore[arg-type]
        self.transport = MockTransport(loop)
        self.protocol = HttpProtocol(self.state)
        self.transport.protocol = self.protocol
        self.protocol.connection_made(self.transport)

    def feed(self, data: bytes) -> None:
        """Deliver *data* as one read, as a transport would (nothing once reading is paused or closed)."""
        if not self.transport.closed:
            self.protocol.data_received(data)

    def eof(self) -> None:
        """Deliver the client's FIN as asyncio does: the transport closes unless ``eof_received`` keeps it."""
        if not self.transport.closed and not self.protocol.eof_received():
            self.transport.close()

    async def settle(self, rounds: int = 30) -> None:
        """Let handler tasks and callbacks scheduled on the loop run."""
        for _ in range(rounds):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        """Move the fake clock, then let what it woke run."""
        self.clock.advance(seconds)
        await self.settle()

    def answers(self, methods: list[str] | None = None) -> tuple[list[Answer], bytes]:
        """The complete responses written so far (EOF counted once the server closed or half-closed)."""
        return parse_all(bytes(self.transport.data), methods, eof=self.closed)

    @property
    def closed(self) -> bool:
        """Whether the server closed, aborted or half-closed (sent its FIN on) the connection."""
        return self.transport.closed or self.transport.eof_written
