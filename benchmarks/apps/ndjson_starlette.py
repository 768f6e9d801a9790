"""uvicorn + Starlette, NDJSON ingest benchmark: the same validation written by hand on request.stream().

Usage: python ndjson_starlette.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
Each chunk is split into lines (the unfinished last one carried over), each non-blank line validated with
Reading.model_validate_json; POST /ingest answers {"count": lines, "total": sum of the values}.
"""

import os
import sys

import uvicorn
from ndjson_model import Reading
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))


async def hello(request):
    return PlainTextResponse("Hello, world!")


async def ingest(request):
    count, total = 0, 0.0
    pending = b""
    async for chunk in request.stream():
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            if line.strip():
                reading = Reading.model_validate_json(line)
                count += 1
                total += reading.value
    if pending.strip():
        reading = Reading.model_validate_json(pending)
        count += 1
        total += reading.value
    return JSONResponse({"count": count, "total": total})


app = Starlette(routes=[Route("/hello", hello), Route("/ingest", ingest, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host=HOST, port=PORT, access_log=False, log_level="warning")
