"""aiohttp, multipart upload benchmark: its streaming multipart reader (request.multipart()).

Usage: python multipart_aiohttp.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
Each part is read with read_chunk(CHUNK); POST /upload answers {part name: bytes in it}.
"""

import os
import sys

from aiohttp import web

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))
CHUNK = 1 << 16  # read_chunk()'s default is 8192, which is slower


async def hello(request):
    return web.Response(text="Hello, world!")


async def upload(request):
    reader = await request.multipart()
    sizes = {}
    async for part in reader:
        size = 0
        while chunk := await part.read_chunk(CHUNK):
            size += len(chunk)
        sizes[part.name] = size
    return web.json_response(sizes)


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/hello", hello)
    app.router.add_post("/upload", upload)
    return app


if __name__ == "__main__":
    web.run_app(make_app(), host=HOST, port=PORT, access_log=None, print=None)
