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


async def test_events_of_many_streams_in_one_turn_each_go_out_after_their_step():
    queues = [asyncio.Queue() for _ in range(5)]
    responses = [Recorder() for _ in queues]

    async def source(queue):
        while (item := await queue.get()) is not None:
            yield item

    tasks = [
        asyncio.ensure_future(sse(source(q), ping=None).streaming_fn(r))
        for q, r in zip(queues, responses, strict=True)
    ]
    for _ in range(3):
        await asyncio.sleep(0)
    for i, queue in enumerate(queues):  # one publisher turn wakes every stream
        queue.put_nowait(f"a{i}")
    for _ in range(3):
        await asyncio.sleep(0)
    assert [r.writes for r in responses] == [[f"data: a{i}\n\n".encode()] for i in range(5)]
    for i, queue in enumerate(queues):  # a stream with two ready writes them together
        for item in (f"b{i}", f"c{i}", None) if i % 2 else (f"b{i}", None):
            queue.put_nowait(item)
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    for i, r in enumerate(responses):
        more = f"data: b{i}\n\ndata: c{i}\n\n" if i % 2 else f"data: b{i}\n\n"
        assert r.writes == [f"data: a{i}\n\n".encode(), more.encode()]


async def test_one_failing_write_is_reported_and_the_other_streams_still_written():
    class Failing(Recorder):
        def write(self, data: bytes) -> asyncio.Future[None]:
            raise RuntimeError("carrier broke")

    loop = asyncio.get_running_loop()
    reported: list[BaseException] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context["exception"]))
    release = asyncio.Event()

    async def source():
        await release.wait()
        yield "event"
        await asyncio.sleep(3600)

    bad, good = Failing(), Recorder()
    tasks = [asyncio.ensure_future(sse(source(), ping=None).streaming_fn(r)) for r in (bad, good)]
    try:
        await asyncio.sleep(0)
        release.set()
        for _ in range(5):
            await asyncio.sleep(0)
        assert good.writes == [b"data: event\n\n"]
        assert [str(e) for e in reported] == ["carrier broke"]
    finally:
        loop.set_exception_handler(None)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_events_queued_when_the_source_fails_are_not_written():
    response = Recorder()

    async def source():
        yield "queued"
        raise RuntimeError("source broke")

    try:
        await sse(source(), ping=None).streaming_fn(response)
    except RuntimeError:
        pass
    for _ in range(3):
        await asyncio.sleep(0)
    assert response.writes == []  # the stream ended (it is aborted) before the turn wrote the batch
