"""aiohttp benchmark app: one process, access log off.

Usage: python aiohttp_app.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
"""

import os
import sys

from aiohttp import web

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))
ROUTES = int(os.environ.get("BENCH_ROUTES", "1000"))
BLOCK = b"x" * 65536


async def hello(request):
    return web.Response(text="Hello, world!")


async def json_view(request):
    return web.json_response({"hello": "world", "n": 1})


def _filler(i: int):
    async def handler(request):
        return web.Response(text=f"{i}:{int(request.match_info['id'])}")

    return handler


async def user(request):
    return web.Response(text=str(int(request.match_info["id"])))


async def stream_view(request):
    mb = int(request.query.get("mb", "1"))
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    for _ in range(mb * 16):
        await response.write(BLOCK)
    await response.write_eof()
    return response


async def upload(request):
    n = 0
    async for chunk in request.content.iter_any():
        n += len(chunk)
    return web.Response(text=str(n))


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/hello", hello)
    app.router.add_get("/json", json_view)
    for i in range(ROUTES):
        app.router.add_get(f"/r{i}/{{id:\\d+}}/detail", _filler(i))
    app.router.add_get(r"/user/{id:\d+}", user)
    app.router.add_get("/stream", stream_view)
    app.router.add_post("/upload", upload)
    return app


if __name__ == "__main__":
    web.run_app(make_app(), host=HOST, port=PORT, access_log=None, print=None)
