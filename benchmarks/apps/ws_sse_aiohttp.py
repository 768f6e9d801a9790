"""aiohttp app of the streaming benchmarks: WebSocket echo on /ws, SSE fan-out on /sse with aiohttp-sse.

Usage: python ws_sse_aiohttp.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
"""

import os
import sys

import fanout
from aiohttp import WSMsgType, web
from aiohttp_sse import sse_response

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))


async def hello(request):
    return web.Response(text="Hello, world!")


async def echo(request):
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for msg in ws:
        if msg.type is WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type is WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


async def events(request):
    async with sse_response(request) as response:
        queue = fanout.subscribe()
        try:
            while response.is_connected() and (data := await queue.get()) is not None:
                await response.send(data)
        finally:
            fanout.unsubscribe(queue)
    return response


async def start(request):
    return web.Response(text=fanout.start(float(request.query["rate"]), float(request.query["seconds"])))


app = web.Application()
app.router.add_get("/hello", hello)
app.router.add_get("/ws", echo)
app.router.add_get("/sse", events)
app.router.add_get("/start", start)

if __name__ == "__main__":
    web.run_app(app, host=HOST, port=PORT, access_log=None, print=None)
