"""Necktie benchmark app (the framework under test).

Usage: python necktie_app.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
BENCH_ROUTES (default 1000): how many parametrised routes are registered
before /user/<id:int>, to measure how routing scales with the table size.
"""

import os
import sys

from pynecktie import Necktie
from pynecktie.response import json, stream, text

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))
ROUTES = int(os.environ.get("BENCH_ROUTES", "1000"))
BLOCK = b"x" * 65536

app = Necktie("bench")


@app.get("/hello")
async def hello(request):
    return text("Hello, world!")


@app.get("/json")
async def json_view(request):
    return json({"hello": "world", "n": 1})


def _filler(i: int):
    async def handler(request, id):
        return text(f"{i}:{id}")

    handler.__name__ = handler.__qualname__ = f"filler_{i}"
    return handler


for _i in range(ROUTES):
    app.get(f"/r{_i}/<id:int>/detail")(_filler(_i))


@app.get("/user/<id:int>")
async def user(request, id):
    return text(str(id))


@app.get("/stream")
async def stream_view(request):
    mb = int(request.args.get("mb", "1"))

    async def body(response):
        for _ in range(mb * 16):
            await response.write(BLOCK)

    return stream(body, content_type="application/octet-stream")


# Necktie applies REQUEST_MAX_SIZE (100 MB by default) to streamed bodies too; the peers do not
# limit streamed bodies, so this route lifts the limit with the per-route option.
@app.post("/upload", stream=True, max_body_size=None)
async def upload(request):
    n = 0
    while (chunk := await request.stream.get()) is not None:
        n += len(chunk)
    return text(str(n))


if __name__ == "__main__":
    app.run(host=HOST, port=PORT, access_log=False)
