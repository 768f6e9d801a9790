"""granian + Starlette: one worker (granian always runs its workers in a child
process, so the server is a parent plus one worker), access log off.

Usage: python granian_app.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
"""

import os
import sys
from pathlib import Path

from granian import Granian
from granian.constants import Interfaces

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))

if __name__ == "__main__":
    Granian(
        "starlette_app:app",
        address=HOST,
        port=PORT,
        interface=Interfaces.ASGI,
        workers=1,
        log_access=False,
        working_dir=Path(__file__).resolve().parent,
    ).serve()
