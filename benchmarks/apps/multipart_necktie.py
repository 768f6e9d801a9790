"""Necktie, multipart upload benchmark: the parts read as they arrive (request.stream.multipart()).

Usage: python multipart_necktie.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
POST /upload answers {part name: bytes in it}; the route lifts the 100 MB body limit (max_body_size=None),
as docs/streaming-formats.md does for large uploads.
"""

import os
import sys

from pynecktie import Necktie
from pynecktie.response import json, text

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))

app = Necktie("multipart")


@app.get("/hello")
async def hello(request):
    return text("Hello, world!")


@app.post("/upload", stream=True, max_body_size=None)
async def upload(request):
    sizes = {}
    async for part in request.stream.multipart():
        size = 0
        async for chunk in part:
            size += len(chunk)
        sizes[part.name] = size
    return json(sizes)


if __name__ == "__main__":
    app.run(host=HOST, port=PORT, access_log=False)
