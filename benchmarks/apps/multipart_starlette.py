"""uvicorn + Starlette, multipart upload benchmark: Starlette's form parser (request.form()).

Usage: python multipart_starlette.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
request.form() parses the body with python-multipart and spools each file to a SpooledTemporaryFile (in
memory up to 1 MiB, then on disk); POST /upload answers {part name: size} from UploadFile.size, without
reading the spooled file back.
"""

import os
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))


async def hello(request):
    return PlainTextResponse("Hello, world!")


async def upload(request):
    async with request.form() as form:
        sizes = {name: value.size for name, value in form.multi_items() if isinstance(value, UploadFile)}
    return JSONResponse(sizes)


app = Starlette(routes=[Route("/hello", hello), Route("/upload", upload, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host=HOST, port=PORT, access_log=False, log_level="warning")
