"""hypercorn + Starlette on uvloop: one process, access log off; HTTP/1.1 and, by prior knowledge, HTTP/2
over cleartext (h2c), as benchmarks/h2load_hello.py uses it.

Usage: python hypercorn_app.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
"""

import asyncio
import os
import sys

import uvloop
from hypercorn.asyncio import serve
from hypercorn.config import Config
from starlette_app import app

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))

if __name__ == "__main__":
    config = Config()
    config.bind = [f"{HOST}:{PORT}"]
    config.accesslog = None
    config.errorlog = "-"
    config.loglevel = "WARNING"
    uvloop.install()
    asyncio.run(serve(app, config))
