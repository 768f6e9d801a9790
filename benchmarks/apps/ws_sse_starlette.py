"""uvicorn + Starlette app of the streaming benchmarks: WebSocket echo on /ws, SSE fan-out on /sse with
sse-starlette. uvicorn picks uvloop, httptools and its WebSocket implementation by itself.

Usage: python ws_sse_starlette.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
"""

import os
import sys

import fanout
import uvicorn
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocketDisconnect

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))


async def hello(request):
    return PlainTextResponse("Hello, world!")


async def echo(websocket):
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


async def events(request):
    async def items():
        queue = fanout.subscribe()
        try:
            while (data := await queue.get()) is not None:
                yield {"data": data}
        finally:
            fanout.unsubscribe(queue)

    return EventSourceResponse(items())


async def start(request):
    q = request.query_params
    return PlainTextResponse(fanout.start(float(q["rate"]), float(q["seconds"])))


app = Starlette(routes=[
    Route("/hello", hello),
    WebSocketRoute("/ws", echo),
    Route("/sse", events),
    Route("/start", start),
])

if __name__ == "__main__":
    uvicorn.run(app, host=HOST, port=PORT, access_log=False, log_level="warning")
