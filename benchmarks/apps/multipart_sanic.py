"""Sanic, multipart upload benchmark: request.files (Sanic parses a multipart body once it is all in memory).

Usage: python multipart_sanic.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
REQUEST_MAX_SIZE is raised to 2 GiB (from 100 MB) so a 1 GiB upload is accepted; POST /upload answers
{part name: size of its body}.
"""

import os
import sys

from sanic import Sanic
from sanic.response import json, text

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))

app = Sanic("multipart")
app.config.REQUEST_MAX_SIZE = 2 << 30


@app.get("/hello")
async def hello(request):
    return text("Hello, world!")


@app.post("/upload")
async def upload(request):
    return json({name: sum(len(f.body) for f in files) for name, files in request.files.items()})


if __name__ == "__main__":
    app.run(host=HOST, port=PORT, access_log=False, single_process=True)
