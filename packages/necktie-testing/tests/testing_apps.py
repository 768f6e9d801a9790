"""Small apps the tests drive."""

from __future__ import annotations

import asyncio
import threading

from pynecktie import Necktie
from pynecktie.response import json, stream, text


class Probe:
    """What a handler saw, shared with the test (the live server runs in another thread)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.finished = threading.Event()
        self.release = threading.Event()
        self.events: list[str] = []


async def wait_for(event: threading.Event, timeout: float = 30.0) -> bool:
    """Poll a thread event from a handler without blocking its loop (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not event.is_set() and loop.time() < deadline:
        await asyncio.sleep(0.005)
    return event.is_set()


def make_app(probe: Probe) -> Necktie:
    """An app with buffered, streamed, failing and slow routes."""
    app = Necktie("testing_app")

    @app.listener("before_server_start")
    async def started(app: Necktie) -> None:
        probe.events.append("start")

    @app.listener("after_server_stop")
    async def stopped(app: Necktie) -> None:
        probe.events.append("stop")

    @app.get("/")
    async def index(request):
        return text("hello")

    @app.route("/echo", methods=["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    async def echo(request):
        return json({"method": request.method, "body": request.body.decode(), "type": request.content_type,
                     "query": request.query_string, "header": request.headers.get("x-probe")})

    @app.post("/chunks", stream=True)
    async def chunks(request):
        while (chunk := await request.stream.get()) is not None:
            probe.chunks.append(chunk)
        return json([c.decode() for c in probe.chunks])

    @app.post("/upper", stream=True)
    async def upper(request):
        async def body(response):
            while (chunk := await request.stream.get()) is not None:
                await response.write(chunk.upper())
        return stream(body)

    @app.get("/slow-stream")
    async def slow_stream(request):
        async def body(response):
            await response.write("first")
            await wait_for(probe.release)
            await response.write("second")
            probe.finished.set()
        return stream(body)

    @app.get("/big/<mib:int>")
    async def big(request, mib: int):
        block = b"x" * (1 << 16)

        async def body(response):
            for _ in range(mib * 16):
                await response.write(block)
        return stream(body, content_type="application/octet-stream")

    @app.get("/boom")
    async def boom(request):
        raise ValueError("the handler broke")

    @app.get("/stream-boom")
    async def stream_boom(request):
        async def body(response):
            await response.write("partial")
            raise KeyError("mid-stream")
        return stream(body)

    @app.post("/sink", stream=True)
    async def sink(request):
        try:
            while (chunk := await request.stream.get()) is not None:
                probe.chunks.append(chunk)
        except BaseException as exc:
            probe.events.append(f"body:{type(exc).__name__}")
            raise
        return text(str(sum(map(len, probe.chunks))))

    @app.get("/until-gone")
    async def until_gone(request):
        async def body(response):
            try:
                await response.write("tick")
                await wait_for(probe.release)
            except BaseException as exc:
                probe.events.append(f"stream:{type(exc).__name__}")
                raise
        return stream(body)

    @app.post("/small", max_body_size=1000)
    async def small(request):
        return text(str(len(request.body)))

    @app.post("/count", stream=True, max_body_size=1 << 30)
    async def count(request):
        total = 0
        while (chunk := await request.stream.get()) is not None:
            total += len(chunk)
        return text(str(total))

    @app.get("/bad-header")
    async def bad_header(request):
        return text("x", headers={"x-bad": "a\r\nb"})

    @app.get("/stall")
    async def stall(request):
        await wait_for(probe.release)
        return text("late")

    return app
