"""Instructions per delivered SSE event of the fan-out benchmark's app, through the real `HttpProtocol`.

Usage: python benchmarks/callgrind_sse.py [--subscribers N] [--small N] [--large N]

The app is ``apps/ws_sse_necktie.py`` (``sse()`` over an async generator reading a queue per subscriber,
apps/fanout.py). N subscribers each open ``GET /sse`` over an in-memory transport (callgrind_hello.py's:
no socket, so no kernel time); then each event is put into every queue, as the benchmark's broadcast
does, and the next once every subscriber's write of it arrived. Callgrind runs the driver with
``--small`` and ``--large`` events; the difference of the totals over the difference of the deliveries
is the cost of one delivery (with its share of the publishing and of the garbage collector), without
start-up and connection set-up. A number, not a timing: it compares two commits.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from callgrind_hello import _Transport, instructions

HERE = Path(__file__).resolve().parent
REQUEST = b"GET /sse HTTP/1.1\r\nHost: localhost:8000\r\nAccept: text/event-stream\r\n\r\n"


class _Tally:
    """The writes of all subscribers together, and the driver's wait for the ones it expects."""

    def __init__(self) -> None:
        self.writes = 0
        self.wanted = 0
        self.waiter: asyncio.Future[None] | None = None


TALLY = _Tally()  # an instance, not class attributes: assigning those would cost the interpreter's caches


class _Counting(_Transport):
    """Counts each write in `TALLY` and wakes the driver once it has all it waits for."""

    def write(self, data: Any) -> None:
        self.written += len(data)
        tally = TALLY
        tally.writes += 1
        if tally.waiter is not None and tally.writes >= tally.wanted and not tally.waiter.done():
            tally.waiter.set_result(None)


async def _drive(subscribers: int, events: int) -> None:
    sys.path.insert(0, str(HERE / "apps"))
    import fanout
    from necktie_server.protocol import HttpProtocol
    from necktie_server.server import ServerState
    from necktie_server.settings import ServerSettings
    from ws_sse_necktie import app

    loop = asyncio.get_running_loop()
    app.finalize()
    state = ServerState(app, ServerSettings.from_config(app.config), loop)
    for _ in range(subscribers):
        protocol = HttpProtocol(state)
        protocol.connection_made(_Counting())
        protocol.data_received(REQUEST)
    while len(fanout.subscribers) < subscribers or TALLY.writes < subscribers:  # the heads are out
        await asyncio.sleep(0)
    for n in range(events):
        TALLY.wanted = TALLY.writes + subscribers
        TALLY.waiter = loop.create_future()
        data = f"t={n};n={n}"
        for queue in fanout.subscribers:
            queue.put_nowait(data)
        await TALLY.waiter
    for queue in fanout.subscribers:
        queue.put_nowait(None)
    for _ in range(5):
        await asyncio.sleep(0)


def main() -> None:
    """Print the instructions per delivered event (or, with ``--run S E``, just drive E events to S)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--run", type=int, nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--small", type=int, default=20)
    parser.add_argument("--large", type=int, default=120)
    args = parser.parse_args()
    if args.run is not None:
        import uvloop

        uvloop.run(_drive(*args.run))
        return
    n = str(args.subscribers)
    # One run outside valgrind first: it compiles what changed, so neither counted run pays for that.
    subprocess.run(
        [sys.executable, __file__, "--run", n, "3"], check=True, env={**os.environ, "PYTHONHASHSEED": "0"}
    )
    small = instructions(__file__, ["--run", n, str(args.small)])
    large = instructions(__file__, ["--run", n, str(args.large)])
    per_event = (large - small) / ((args.large - args.small) * args.subscribers)
    counts = f"{n} subscribers, {args.small} and {args.large} events"
    print(f"{per_event:,.0f} instructions per delivered event ({counts})")


if __name__ == "__main__":
    main()
