"""Necktie app of the streaming benchmarks: WebSocket echo on /ws, SSE fan-out on /sse (+ /start).

Usage: python ws_sse_necktie.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
"""

import os
import sys

import fanout
from pynecktie import Necktie
from pynecktie.response import sse, text

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))

app = Necktie("bench")


@app.get("/hello")
async def hello(request):
    return text("Hello, world!")


@app.websocket("/ws")
async def echo(request, ws):
    async for message in ws:
        await ws.send(message)


@app.get("/sse")
async def events(request):
    async def items():
        queue = fanout.subscribe()
        try:
            while (data := await queue.get()) is not None:
                yield data
        finally:
            fanout.unsubscribe(queue)

    return sse(items())


@app.get("/start")
async def start(request):
    return text(fanout.start(float(request.args.get("rate")), float(request.args.get("seconds"))))


if __name__ == "__main__":
    app.run(host=HOST, port=PORT, access_log=False)
