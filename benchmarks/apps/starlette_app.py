"""The Starlette (ASGI) benchmark app, served by uvicorn_app.py and granian_app.py.

BENCH_ROUTES (default 1000): parametrised routes registered before /user/{id:int}.
"""

import os

from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route

ROUTES = int(os.environ.get("BENCH_ROUTES", "1000"))
BLOCK = b"x" * 65536


async def hello(request):
    return PlainTextResponse("Hello, world!")


async def json_view(request):
    return JSONResponse({"hello": "world", "n": 1})


def _filler(i: int):
    async def handler(request):
        return PlainTextResponse(f"{i}:{request.path_params['id']}")

    return handler


async def user(request):
    return PlainTextResponse(str(request.path_params["id"]))


async def stream_view(request):
    mb = int(request.query_params.get("mb", "1"))

    async def body():
        for _ in range(mb * 16):
            yield BLOCK

    return StreamingResponse(body(), media_type="application/octet-stream")


async def upload(request):
    n = 0
    async for chunk in request.stream():
        n += len(chunk)
    return PlainTextResponse(str(n))


routes = [
    Route("/hello", hello),
    Route("/json", json_view),
    *(Route(f"/r{i}/{{id:int}}/detail", _filler(i)) for i in range(ROUTES)),
    Route("/user/{id:int}", user),
    Route("/stream", stream_view),
    Route("/upload", upload, methods=["POST"]),
]

app = Starlette(routes=routes)
