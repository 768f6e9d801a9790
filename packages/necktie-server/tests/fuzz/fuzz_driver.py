"""What both fuzz targets share: one input is one connection of the real `HttpProtocol`, without a socket.

An input is four control bytes and then the bytes a client sends. The control bytes say how the client
behaves (`Plan`): where its bytes are cut into reads, whether the loop runs between reads, whether it stops
reading the answer for a while, sends EOF, drops the connection, or repeats one read many times (so that a
small input can stand for a large upload or a flood of pipelined requests). Timers run on a fake clock, so
every timeout can fire within one input.

`Session` drives one connection and collects *violations*: a call into the protocol that raised, anything
the event loop's exception handler saw, a write after the transport was closed or half-closed, a
connection still open after every timeout had its chance, a task of the connection still pending after
it was lost, a protocol object that stays alive after the connection ends, or a memory peak out of
proportion to the limits. The targets add their own checks on what the server wrote.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import random
import sys
import tracemalloc
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_TESTS = str(Path(__file__).resolve().parent.parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from necktie_server.protocol import HttpProtocol  # noqa: E402
from necktie_server.server import ServerState  # noqa: E402
from necktie_server.settings import ServerSettings  # noqa: E402
from nt_mock import FakeClock, MockTransport  # noqa: E402
from pynecktie import Necktie  # noqa: E402

CONTROL = 4  # bytes of `Plan` at the front of every input
CUT = b"\xff\xfe\xfd"  # in a payload: a read ends here (see `Plan.decode`)
AMPLIFY_MAX = 1 << 17  # at most this many bytes of repeated reads per input
AMPLIFY_READ = 1 << 12  # ... delivered in reads of about this size
CLIENT_BUFFER = 1 << 16  # what a client can have in flight while the server does not read (a socket buffer)
FINISH_ROUNDS = 60  # at most this many 1.5 s steps of the fake clock after the input (8 without progress)
MEMORY_SLACK = 1 << 19  # peak traced memory allowed beyond the output kept, on an amplified input

#: Small limits, so that a few kilobytes of input reach every one of them.
FUZZ_CONFIG: dict[str, Any] = {
    "ACCESS_LOG": False,
    "REQUEST_MAX_SIZE": 1 << 16,
    "REQUEST_BUFFER_SIZE": 1 << 14,
    "REQUEST_MAX_LINE_SIZE": 1024,
    "REQUEST_MAX_HEADER_SIZE": 4096,
    "REQUEST_MAX_HEADERS": 32,
    "REQUEST_MAX_CHUNK_EXTENSION_SIZE": 256,
    "REQUEST_MAX_QUERY_FIELDS": 50,
    "PIPELINE_MAX_REQUESTS": 8,
    "REQUEST_TIMEOUT": 1.0,
    "REQUEST_BODY_TIMEOUT": 1.0,
    "KEEP_ALIVE_TIMEOUT": 1.0,
    "WRITE_TIMEOUT": 1.0,
    "RESPONSE_TIMEOUT": 0,  # a watchdog on the real clock would outlive the input
    "WRITE_BUFFER_HIGH": 1 << 14,
    "WEBSOCKET_MAX_SIZE": 1 << 16,
    "WEBSOCKET_PING_INTERVAL": 1.0,
    "WEBSOCKET_PING_TIMEOUT": 1.0,
    "WEBSOCKET_CLOSE_TIMEOUT": 1.0,
}


class Violation(AssertionError):
    """An invariant the server broke on this input (raised out of the target, so atheris keeps the input)."""


@dataclass(frozen=True)
class Plan:
    """How the client behaves, decoded from an input's control bytes; ``payload`` is what it sends."""

    payload: bytes
    cuts: tuple[int, ...]  # offsets in the payload where a read ends
    settle: bool  # let the loop run between reads (else reads arrive back to back)
    eof: bool  # half-close after the last read
    abort: bool  # drop the connection after the last read instead of waiting for the server
    stall_writes: bool  # stop reading the answer (the server is told to pause writing) ...
    resume_writes: bool  # ... and start again after the second read (else never: a slow reader)
    tick: bool  # move the clock half a timeout between reads
    amplify: int  # bytes of repeats of one read (0: none)
    repeat: int  # which read is repeated
    choice: int  # a byte the target may use (a route, an extension)

    @classmethod
    def decode(cls, data: bytes) -> Plan:
        """The plan of an input: `CONTROL` bytes, then the payload.

        Reads end at random places (as many as the first byte says, modulo 9) and wherever the payload
        holds `CUT`, which is removed: seeds use it to put a read exactly where they want one.
        """
        control = data[:CONTROL].ljust(CONTROL, b"\0")
        marked = data[CONTROL:].split(CUT)
        payload = b"".join(marked)
        size = len(payload)
        forced = set(itertools.accumulate(len(part) for part in marked[:-1]))
        rng = random.Random(control[0] | control[2] << 8)
        count = min(control[0] % 9, max(size - 1, 0))
        cuts = forced.union(rng.sample(range(1, size), count) if count else ()) - {0, size}
        flags = control[1]
        amplify = (control[3] + 1) * (AMPLIFY_MAX // 256) if flags & 0x60 == 0x60 else 0
        return cls(payload, tuple(sorted(cuts)), bool(flags & 1), bool(flags & 2), bool(flags & 4),
                   bool(flags & 8), bool(flags & 16), bool(flags & 128), amplify, control[2],
                   control[3] ^ control[0])

    def pieces(self) -> list[bytes]:
        """The payload cut into reads."""
        bounds = [0, *self.cuts, len(self.payload)]
        return [self.payload[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


class FuzzTransport(MockTransport):
    """`MockTransport` that records a write after close or EOF as a violation instead of raising into the
    server (after an abort, writes are dropped, as asyncio's transports drop them), can be handed to a new
    protocol (an upgrade), and holds reads while the protocol is not reading."""

    def __init__(self, loop: asyncio.AbstractEventLoop, session: Session) -> None:
        super().__init__(loop)
        self.session: Session | None = session
        self.inbox: list[bytes] = []
        self.inbox_size = 0
        self.eof_pending = False
        self.peer_gone = False
        self.closed_on_eof = False  # closed by itself: the protocol's eof_received() said so

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.peer_gone or self.aborted or self.closed_on_eof:
            # Dropped, as asyncio's transports drop writes once aborted, or once closed with nothing
            # buffered. Closing on EOF was the transport's doing, on eof_received()'s word, not a close the
            # server chose after an answer: a handler may still write before it hears of the loss.
            return
        if self.closed or self.eof_written:
            if data and self.session is not None:
                self.session.violation(f"{len(data)} bytes written after the transport was "
                                       f"{'closed' if self.closed else 'half-closed'}: {bytes(data)[:60]!r}")
            return
        self.data += data

    def write_eof(self) -> None:
        if self.closed and self.session is not None:
            self.session.violation("write_eof() after close()")
        self.eof_written = True

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.protocol  # type: ignore[return-value]

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol  # type: ignore[assignment]

    def _lose(self) -> None:
        if not self.closed:
            self.closed = True
            self._loop.call_soon(self.session.call, "connection_lost", None)  # type: ignore[union-attr]


def quiet_logs() -> None:
    """Handlers that raise on purpose and refused requests log; a fuzz run would print little else."""
    for name in ("necktie", "necktie.error", "necktie.access", "necktie.root", "necktie.websocket",
                 "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def make_loop() -> asyncio.AbstractEventLoop:
    """The loop every input runs on; its exception handler is replaced per session."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop


@dataclass
class Session:
    """One connection of *app*, driven as *plan* says; ``violations`` holds what went wrong."""

    app: Necktie
    settings: ServerSettings
    plan: Plan
    violations: list[str] = field(default_factory=list)
    client_ended: bool = False  # the client half-closed or reset the connection
    delivered: bytearray = field(default_factory=bytearray)  # every byte the protocol was given

    def violation(self, text: str) -> None:
        """Record a broken invariant."""
        self.violations.append(text)

    def call(self, name: str, *args: Any) -> Any:
        """Call the transport's current protocol's *name*; an exception out of it is a violation."""
        try:
            return getattr(self.transport.protocol, name)(*args)
        except Exception as exc:  # any exception escaping the protocol is the finding
            self.violation(f"{name}() raised {type(exc).__name__}: {exc}")
            return None

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        self.violation(f"event loop exception handler: {context.get('message')} {type(exc).__name__}: {exc}")

    # -- the client's side ----------------------------------------------------------------------------
    def open(self) -> None:
        """Create the protocol and connect it to a fresh transport."""
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._loop_error)
        self.loop = loop
        self.clock = FakeClock(loop)
        self.state = ServerState(self.app, self.settings, self.clock)  # type: ignore[arg-type]
        self.transport = FuzzTransport(loop, self)
        self.tasks_before = weakref.WeakSet(asyncio.all_tasks(loop))  # weak: it holds the running task
        protocol = HttpProtocol(self.state)
        self.protocol_ref = weakref.ref(protocol)
        self.transport.protocol = protocol
        self.call("connection_made", self.transport)

    def send(self, data: bytes) -> bool:
        """One read as a transport would deliver it; False once the client cannot send any more."""
        transport = self.transport
        if transport.closed or transport.aborted:
            return False
        if transport.reading and not transport.inbox:
            self.delivered += data
            self.call("data_received", data)
            return True
        if transport.inbox_size >= CLIENT_BUFFER:
            return False  # the server stopped reading and the client's buffer is full: it blocks
        transport.inbox.append(data)
        transport.inbox_size += len(data)
        return True

    def pump(self) -> None:
        """Deliver what waited while the protocol was not reading, then a pending EOF."""
        transport = self.transport
        while transport.inbox and transport.reading and not transport.closed:
            data = transport.inbox.pop(0)
            transport.inbox_size -= len(data)
            self.delivered += data
            self.call("data_received", data)
        if transport.eof_pending and not transport.inbox and transport.reading and not transport.closed:
            transport.eof_pending = False
            if not self.call("eof_received"):
                transport.closed_on_eof = True
                transport.close()

    def send_eof(self) -> None:
        """Half-close the client's side (delivered after any reads still held)."""
        self.client_ended = True
        if not self.transport.closed:
            self.transport.eof_pending = True
            self.pump()

    async def settle(self, rounds: int = 20) -> None:
        """Let the handlers and callbacks run, delivering held reads as the protocol resumes."""
        for _ in range(rounds):
            await asyncio.sleep(0)
            self.pump()

    async def settle_all(self, limit: int = 20000) -> None:
        """Settle until nothing moves any more (a flood of pipelined requests takes many rounds)."""
        transport = self.transport
        before = None
        for _ in range(limit // 20):
            now = (len(transport.data), len(self.delivered), transport.closed, transport.eof_written)
            if now == before:
                return
            before = now
            await self.settle()

    async def advance(self, seconds: float) -> None:
        """Move the fake clock and let what it woke run."""
        self.clock.advance(seconds)
        await self.settle_all()

    def client_abort(self) -> None:
        """The client resets the connection: the server's writes go nowhere, then it learns of the loss."""
        transport = self.transport
        self.client_ended = True
        if not transport.closed:
            transport.peer_gone = True
            transport.abort()

    def stall(self, on: bool) -> None:
        """The client stops (or starts again) reading the server's answer."""
        if on and not self.transport.closed:
            self.call("pause_writing")
        elif not on and not self.transport.closed:
            self.call("resume_writing")

    # -- a whole input --------------------------------------------------------------------------------
    async def run(self, after_open: Callable[[Session], Any] | None = None) -> None:
        """Drive the connection through the plan's payload, then let every timeout fire."""
        plan = self.plan
        self.open()
        if after_open is not None:
            await after_open(self)
        if plan.stall_writes:
            self.stall(True)
        pieces = plan.pieces()
        for i, piece in enumerate(pieces):
            if not self.send(piece):
                break
            if plan.amplify and i == plan.repeat % len(pieces):
                await self._amplify(piece)
            if plan.settle:
                await self.settle(4)
            if plan.tick:
                await self.advance(0.5)
            if i == 1 and plan.stall_writes and plan.resume_writes:
                self.stall(False)
        if plan.abort:
            self.client_abort()
        elif plan.eof:
            self.send_eof()
        await self.settle_all()
        if plan.stall_writes and plan.resume_writes:
            self.stall(False)
        await self.finish()

    async def _amplify(self, piece: bytes) -> None:
        # The repeats arrive in reads of a few KiB, as a socket would merge them.
        read = piece * max(1, AMPLIFY_READ // len(piece))
        sent = 0
        while sent < self.plan.amplify:
            if not self.send(read):
                await self.settle(4)
                if not self.send(read):
                    return
            sent += len(read)

    async def finish(self) -> None:
        """Let every timeout fire: the server must have closed by then. Then check nothing is left over."""
        idle = 0
        for _ in range(FINISH_ROUNDS):
            if self.transport.closed or idle >= 8:  # 12 s without progress: every timeout had its chance
                break
            before = (len(self.transport.data), len(self.delivered))
            await self.advance(1.5)
            idle = idle + 1 if (len(self.transport.data), len(self.delivered)) == before else 0
        if not self.transport.closed:
            self.violation("the connection is still open after every timeout had passed")
            self.client_abort()
        await self.settle()
        left = [t for t in asyncio.all_tasks(self.loop) if t not in self.tasks_before and not t.done()]
        if left:
            self.violation(f"{len(left)} task(s) still pending after the connection was lost: {left[0]!r}")
            for task in left:
                task.cancel()
            await self.settle()
        self.loop.set_exception_handler(None)

    def check_released(self) -> None:
        """The protocol object is garbage once its connection ended (a cycle the collector breaks is fine)."""
        self.transport.protocol = None
        self.state.connections.clear()
        if self.protocol_ref() is not None:
            gc.collect(1)  # the young generations first: cheap, and where this input's objects are
        if self.protocol_ref() is not None:
            gc.collect()
            if self.protocol_ref() is not None:
                referrers = [type(r).__name__ for r in gc.get_referrers(self.protocol_ref())]
                self.violation(f"the protocol is still referenced after the connection ended: {referrers}")


def run_input(loop: asyncio.AbstractEventLoop, session: Session,
              after_open: Callable[[Session], Any] | None = None) -> int:
    """Run *session* on its plan; returns the peak traced memory (bytes) when the plan amplifies, else 0."""
    traced = session.plan.amplify > 0
    if traced:
        tracemalloc.start()
    try:
        loop.run_until_complete(session.run(after_open))
        peak = tracemalloc.get_traced_memory()[1] if traced else 0
    finally:
        if traced:
            tracemalloc.stop()
    # The driver's own record of what it sent and received is traced too.
    kept = (len(session.delivered) + len(session.transport.data)) * 5 // 4
    if traced and peak > MEMORY_SLACK + kept + len(session.transport.data):
        session.violation(f"memory peaked at {peak >> 10} KiB for {len(session.delivered) >> 10} "
                          f"KiB read and {len(session.transport.data) >> 10} KiB written")
    session.check_released()
    session.transport.session = None  # the driver's own cycle: freed now, not piled up for the collector
    return peak


def report(session: Session, data: bytes) -> None:
    """Raise `Violation` with everything found on *data* (atheris then saves the input as a crash)."""
    if session.violations:
        lines = "\n  ".join(session.violations)
        raise Violation(f"{len(session.violations)} violation(s) on input {data[:200]!r}:\n  {lines}")
