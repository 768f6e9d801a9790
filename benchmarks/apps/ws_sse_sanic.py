"""Sanic app of the streaming benchmarks: WebSocket echo on /ws, SSE fan-out on /sse (+ /start).

Sanic has no SSE helper: its documented way is a streamed response of ``text/event-stream`` written
event by event. One process (single_process=True), access log off.

Usage: python ws_sse_sanic.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
"""

import os
import sys

import fanout
from sanic import Sanic
from sanic.response import text

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))

app = Sanic("bench")


@app.get("/hello")
async def hello(request):
    return text("Hello, world!")


@app.websocket("/ws")
async def echo(request, ws):
    async for message in ws:
        await ws.send(message)


@app.get("/sse")
async def events(request):
    response = await request.respond(
        content_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )
    queue = fanout.subscribe()
    try:
        while (data := await queue.get()) is not None:
            await response.send(f"data: {data}\n\n")
        await response.eof()
    finally:
        fanout.unsubscribe(queue)


@app.get("/start")
async def start(request):
    return text(fanout.start(float(request.args.get("rate")), float(request.args.get("seconds"))))


if __name__ == "__main__":
    app.run(host=HOST, port=PORT, access_log=False, single_process=True)
