"""Sanic benchmark app: one process (single_process=True), access log off.

Usage: python sanic_app.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
"""

import os
import sys

from sanic import Sanic
from sanic.response import json, text

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))
ROUTES = int(os.environ.get("BENCH_ROUTES", "1000"))
BLOCK = b"x" * 65536

app = Sanic("bench")


@app.get("/hello")
async def hello(request):
    return text("Hello, world!")


@app.get("/json")
async def json_view(request):
    return json({"hello": "world", "n": 1})


def _filler(i: int):
    async def handler(request, id: int):
        return text(f"{i}:{id}")

    return handler


for _i in range(ROUTES):
    app.get(f"/r{_i}/<id:int>/detail", name=f"filler_{_i}")(_filler(_i))


@app.get("/user/<id:int>")
async def user(request, id: int):
    return text(str(id))


@app.get("/stream")
async def stream_view(request):
    mb = int(request.args.get("mb", "1"))
    response = await request.respond(content_type="application/octet-stream")
    for _ in range(mb * 16):
        await response.send(BLOCK)
    await response.eof()


@app.post("/upload", stream=True)
async def upload(request):
    n = 0
    while (chunk := await request.stream.read()) is not None:
        n += len(chunk)
    return text(str(n))


if __name__ == "__main__":
    app.run(host=HOST, port=PORT, access_log=False, single_process=True)
