"""The event source of the SSE fan-out benchmark, the same for every peer (benchmarks/sse_fanout.py).

Each subscriber (one SSE response) gets its own unbounded `asyncio.Queue`, the way an in-process pub/sub
is ordinarily written. ``GET /start?rate=R&seconds=S`` starts one broadcast: R events a second for S
seconds, each put into every subscriber's queue (a ticker: each turn publishes what is due by then). An
event's data is ``t=<due>;n=<seq>``: *due* is the time it was scheduled for (``time.monotonic_ns()``,
one clock for every process on the machine), so the client's delivery latency also counts any lag of the
publisher itself on a busy server. After the last event, ``None`` ends every subscriber's stream (so the
server stops without waiting on idle handlers). ``GET /start?rate=R&seconds=0`` only counts the
subscribers.
"""

import asyncio
import time

subscribers: set[asyncio.Queue] = set()


def subscribe() -> asyncio.Queue:
    queue: asyncio.Queue = asyncio.Queue()
    subscribers.add(queue)
    return queue


def unsubscribe(queue: asyncio.Queue) -> None:
    subscribers.discard(queue)


async def broadcast(rate: float, seconds: float) -> None:
    """A fixed-rate ticker: at each turn it publishes every event due by then (more than one only when it
    is late), then waits for the next; it gives the loop a turn in between even when late, so a server
    that cannot keep up still answers and delivers meanwhile."""
    start = time.monotonic_ns()
    step = 1e9 / rate
    total, n = int(rate * seconds), 0
    while n < total:
        now = time.monotonic_ns()
        while n < total and start + int(n * step) <= now:
            data = f"t={start + int(n * step)};n={n}"
            for queue in subscribers:
                queue.put_nowait(data)
            n += 1
        if n < total:
            await asyncio.sleep(max(0.0, (start + int(n * step) - time.monotonic_ns()) / 1e9))
    for queue in subscribers:
        queue.put_nowait(None)


_running: set[asyncio.Task] = set()


def start(rate: float, seconds: float) -> str:
    """Start a broadcast in the background (none for 0 seconds); the answer of the /start endpoint."""
    if not seconds:
        return f"{len(subscribers)} subscribers"
    task = asyncio.get_running_loop().create_task(broadcast(rate, seconds))
    _running.add(task)
    task.add_done_callback(_running.discard)
    return f"{len(subscribers)} subscribers"
