"""Draining a server before it stops, so that a load balancer in front loses no request.

The order, for one serving process (`Server.stop`):

1. **Begin** (`begin`): readiness (``READINESS_PATH``) answers 503 from now on, and keep-alive ends: every
   answer whose head has not gone out yet says ``Connection: close`` (a connection idle right now gets it on
   its next response), so clients come back on new connections, which a load balancer can send elsewhere.
2. **Wait** ``DRAIN_DELAY`` seconds (only on ``SIGTERM``, and for a worker a rolling restart replaces),
   still accepting and serving as usual: the time a load balancer needs to see the 503, or to see the
   Kubernetes endpoint go, before it stops sending new connections. ``SIGINT`` ends the wait.
3. **Close the listener quietly** (`close_listener`): closing a listening socket resets the connections
   the kernel has completed but the server has not accepted yet, and the handshakes under way. When this
   process alone holds the socket (not a socket shared with other workers), it first makes the socket drop
   new SYNs (a socket filter, on Linux), lets the handshakes under way complete and accepts everything
   queued, and only then closes it. A client whose SYN was dropped sends it again a second later and finds
   another worker (SO_REUSEPORT) or a closed port, which a proxy takes as "try the next server".
4. The graceful shutdown: idle connections close, requests and streams in flight finish within
   ``GRACEFUL_SHUTDOWN_TIMEOUT``, the rest are cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from typing import TYPE_CHECKING, Any

from .sockets import accept_queue_length, refuse_new_connections

if TYPE_CHECKING:
    from .server import ServerState

logger = logging.getLogger("necktie.root")

HANDSHAKE_SETTLE = 0.1  # after SYNs are dropped: handshakes under way complete (a round trip on a LAN)
QUEUE_WAIT = 5.0  # at most this long for the loop to accept what the kernel queued before the close


def begin(state: ServerState) -> None:
    """Step 1: readiness 503 and no more keep-alive (idempotent)."""
    if state.draining:
        return
    state.draining = True
    state.app.health.begin_drain()
    for conn in list(state.connections):
        conn.drain()


async def close_listener(server: Any, sock: socket.socket | None, exclusive: bool) -> None:
    """Step 3: stop accepting (*server*: an asyncio server listening on *sock*, or on sockets of its own
    when None); when this process alone holds them (*exclusive*), without resetting a connection the
    kernel already took for us."""
    with contextlib.ExitStack() as copies:
        if not exclusive:
            own: list[Any] = []
        elif sock is not None:
            own = [sock]
        else:  # the server's own sockets, as socket objects (copies of their descriptors)
            own = [copies.enter_context(socket.fromfd(s.fileno(), s.family, s.type)) for s in server.sockets]
        tcp = [s for s in own if s.family in (socket.AF_INET, socket.AF_INET6)]
        if tcp and all([refuse_new_connections(s) for s in tcp]):
            loop = asyncio.get_running_loop()
            await asyncio.sleep(HANDSHAKE_SETTLE)
            deadline = loop.time() + QUEUE_WAIT
            while any(accept_queue_length(s) for s in tcp) and loop.time() < deadline:
                await asyncio.sleep(0.01)
    server.close()


class StopSignals:
    """How a serving process learns to stop: the first SIGINT or SIGTERM says how (SIGTERM: with the
    drain delay); a SIGINT after it ends the delay (``hurry``). A repeated SIGTERM changes nothing: a
    process manager may send it to the supervisor and its workers alike, which the supervisor passes on
    too. SIGHUP is logged and ignored here: a rolling restart is the supervisor's (``--workers N``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, hangup_hint: bool = True) -> None:
        self.received: asyncio.Future[int] = loop.create_future()
        self.hurry = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.signal, sig)
        loop.add_signal_handler(signal.SIGHUP, self._hangup, hangup_hint)

    def signal(self, signum: int) -> None:
        """Stop (the first time); SIGINT later hurries the stop already under way."""
        if not self.received.done():
            self.received.set_result(signum)
        elif signum == signal.SIGINT:
            self.hurry.set()

    def _hangup(self, hint: bool) -> None:
        if hint:
            logger.warning("SIGHUP ignored: a rolling restart needs a supervisor (--workers 2 or more)")

    async def wait(self) -> int:
        """The signal that asked to stop."""
        return await self.received

    def drain_delay(self, configured: float) -> float:
        """How long to keep accepting before the shutdown: *configured* after SIGTERM, else none."""
        signum = self.received.result() if self.received.done() else None
        return configured if signum == signal.SIGTERM else 0.0


async def wait_delay(delay: float, hurry: asyncio.Event | None) -> None:
    """Step 2: *delay* seconds, or less once *hurry* is set."""
    if delay <= 0:
        return
    if hurry is None:
        await asyncio.sleep(delay)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(hurry.wait(), delay)
