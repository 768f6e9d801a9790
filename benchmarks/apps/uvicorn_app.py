"""uvicorn + Starlette: one process (no workers / reload), access log off.

Usage: python uvicorn_app.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
"""

import os
import sys

import uvicorn
from starlette_app import app

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))

if __name__ == "__main__":
    uvicorn.run(app, host=HOST, port=PORT, access_log=False, log_level="warning")
