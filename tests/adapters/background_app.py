"""An app for background work on every carrier: an app-lifetime task and work left for after a response.

``NECKTIE_TEST_EVENTS`` names a file the shut-down steps and the background work append to (the tests read it
once the server has exited).
"""

import asyncio
import os

from pynecktie import Necktie
from pynecktie.response import json, stream, text

app = Necktie("adapter_background")
app.ctx.log = []
app.ctx.ticks = 0
app.ctx.release = None


def record(event):
    app.ctx.log.append(event)
    path = os.environ.get("NECKTIE_TEST_EVENTS")
    if path:
        with open(path, "a") as out:
            out.write(event + "\n")


async def ticker():
    try:
        while True:
            app.ctx.ticks += 1
            await asyncio.sleep(0.01)
    except asyncio.CancelledError:
        record("ticker: cancelled")
        raise


async def broken_task():
    raise RuntimeError("the app task broke")


app.add_task(ticker, name="ticker")
app.add_task(broken_task, name="broken")


@app.after_server_start
async def make_event(app):
    app.ctx.release = asyncio.Event()


@app.before_server_stop
async def before_stop(app):
    record("before_server_stop")


@app.after_server_stop
async def after_stop(app):
    record("after_server_stop")


@app.get("/ticks")
async def ticks(request):
    return json({"ticks": app.ctx.ticks, "running": app.background.running})


@app.get("/log")
async def log(request):
    return json(app.ctx.log)


async def wait_for_release(label):
    record(f"{label}: waiting")
    await app.ctx.release.wait()
    record(f"{label}: released")


@app.get("/waits")
async def waits(request):
    """Its background work waits for /release: the response must not wait with it."""
    request.add_background(wait_for_release, "waits")
    return text("sent")


@app.post("/release")
async def release(request):
    app.ctx.release.set()
    return text("released")


@app.get("/streamed")
async def streamed(request):
    request.add_background(record, "streamed: background")  # a plain function: run in a worker thread

    async def body(response):
        for i in range(100):
            await response.write(b"%d," % i)
        record("streamed: last write")

    return stream(body)


@app.get("/forever")
async def forever(request):
    """Adds background work, then streams until the client goes away: the work must never run."""
    request.add_background(record, "forever: background ran")

    async def body(response):
        try:
            while True:
                await response.write(b"tick\n")
                await asyncio.sleep(0.01)
        except BaseException as exc:
            record(f"forever: {type(exc).__name__}")
            raise

    return stream(body)


@app.get("/broken-stream")
async def broken_stream(request):
    request.add_background(record, "broken-stream: background ran")

    async def body(response):
        await response.write(b"partial,")
        raise RuntimeError("the stream broke")

    return stream(body)


async def failing_work():
    raise ValueError("the background work broke")


@app.get("/fails")
async def fails(request):
    request.add_background(failing_work)
    request.add_background(record, "fails: the next call ran")
    return text("ok")


@app.get("/slow")
async def slow(request):
    """Background work still running when the server is asked to stop: shut-down waits for it."""

    async def work():
        record("slow: started")
        await asyncio.sleep(1)
        record("slow: finished")

    request.add_background(work)
    return text("ok")
