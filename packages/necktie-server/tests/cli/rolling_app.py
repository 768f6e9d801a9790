"""The app the drain and rolling-restart tests (and benchmarks/rolling_restart.py) serve: quick answers,
streamed uploads and downloads, server-sent events, and the health probes.

Every answer names the process that gave it (``x-pid``), so a test can tell which server or worker
served what. The settings come from the environment (``NECKTIE_READINESS_PATH``, ``NECKTIE_DRAIN_DELAY``...).
"""

import asyncio
import os

from pynecktie import Necktie
from pynecktie.response import stream, text
from pynecktie.sse import Event, sse

app = Necktie("rolling")
PID = {"x-pid": str(os.getpid())}


@app.get("/hello")
async def hello(request):
    return text("hello", headers=PID)


@app.post("/upload", stream=True)
async def upload(request):
    total = 0
    while (chunk := await request.stream.get()) is not None:
        total += len(chunk)
    return text(str(total), headers=PID)


@app.get("/download/<size:int>/<pieces:int>")
async def download(request, size: int, pieces: int):
    async def body(response):
        for i in range(pieces):
            await response.write(bytes([65 + i % 26]) * size)
            await asyncio.sleep(0.01)

    return stream(body, headers=PID)


@app.get("/events/<count:int>")
async def events(request, count: int):
    async def emit():
        for i in range(count):
            yield Event(f"tick {i}", event="tick", id=str(i))
            await asyncio.sleep(0.01)
        yield Event("bye", event="end")

    return sse(emit(), headers=PID)
