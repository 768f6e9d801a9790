"""uvicorn + Starlette with GZipMiddleware, serving the compression benchmark's bodies (apps/bodies.py).

Usage: python compression_starlette.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
GZipMiddleware at compresslevel 6 (its default is 9) to match Necktie's gzip level; minimum_size 500 as
Necktie's. It only does gzip.
"""

import os
import sys

import uvicorn
from bodies import BODIES
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))


async def hello(request):
    return PlainTextResponse("Hello, world!")


def _serve(body: bytes, content_type: str):
    async def handler(request):
        return Response(body, media_type=content_type)

    return handler


app = Starlette(
    routes=[Route("/hello", hello)]
    + [Route(f"/{name}", _serve(make(), ctype)) for name, (make, ctype) in BODIES.items()],
    middleware=[Middleware(GZipMiddleware, minimum_size=500, compresslevel=6)],
)

if __name__ == "__main__":
    uvicorn.run(app, host=HOST, port=PORT, access_log=False, log_level="warning")
