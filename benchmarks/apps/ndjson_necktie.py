"""Necktie, NDJSON ingest benchmark: request.stream.ndjson(Reading) validates each line as it arrives.

Usage: python ndjson_necktie.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
POST /ingest answers {"count": lines, "total": sum of the values}; the route lifts the 100 MB body limit.
"""

import os
import sys

from ndjson_model import Reading
from pynecktie import Necktie
from pynecktie.response import json, text

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))

app = Necktie("ndjson")


@app.get("/hello")
async def hello(request):
    return text("Hello, world!")


@app.post("/ingest", stream=True, max_body_size=None)
async def ingest(request):
    count, total = 0, 0.0
    async for reading in request.stream.ndjson(Reading):
        count += 1
        total += reading.value
    return json({"count": count, "total": total})


if __name__ == "__main__":
    app.run(host=HOST, port=PORT, access_log=False)
