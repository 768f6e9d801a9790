"""`sse()` writes the events that are ready together, and each one as soon as the source has no more ready."""

from __future__ import annotations

import asyncio

from pynecktie.sse import BATCH_BYTES, sse


class Recorder:
    """The response the streaming function writes to: records every write, in order."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> asyncio.Future[None]:
        self.writes.append(data)
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def stream(items) -> list[bytes]:
    response = Recorder()
    await sse(items, ping=None).streaming_fn(response)
    return response.writes


async def test_events_ready_together_go_out_in_one_write():
    writes = await stream([f"event {i}" for i in range(100)])
    assert writes == [b"".join(f"data: event {i}\n\n".encode() for i in range(100))]


async def test_a_batch_is_written_once_it_is_big():
    event = "x" * 1000
    writes = await stream([event] * 200)
    assert b"".join(writes) == f"data: {event}\n\n".encode() * 200
    assert len(writes) > 1 and all(len(w) <= BATCH_BYTES + 1008 for w in writes)


async def test_each_event_goes_out_when_the_source_waits():
    response = Recorder()
    release = asyncio.Event()

    async def source():
        yield "first"
        await release.wait()
        yield "second"

    task = asyncio.ensure_future(sse(source(), ping=None).streaming_fn(response))
    for _ in range(10):
        await asyncio.sleep(0)
    assert response.writes == [b"data: first\n\n"]  # written without waiting for the next event
    release.set()
    await task
    assert response.writes == [b"data: first\n\n", b"data: second\n\n"]
