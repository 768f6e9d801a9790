"""Necktie with COMPRESSION on, serving the compression benchmark's bodies (apps/bodies.py).

Usage: python compression_necktie.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
Levels are Necktie's own (pynecktie.codings): gzip 6, brotli quality 4, zstd level 3.
"""

import os
import sys

from bodies import BODIES
from pynecktie import Necktie
from pynecktie.response import raw, text

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))

app = Necktie("compression")
app.config.COMPRESSION = True


@app.get("/hello")
async def hello(request):
    return text("Hello, world!")


def _serve(body: bytes, content_type: str):
    async def handler(request):
        return raw(body, content_type=content_type)

    return handler


for _name, (_make, _ctype) in BODIES.items():
    app.get(f"/{_name}", name=_name)(_serve(_make(), _ctype))

if __name__ == "__main__":
    app.run(host=HOST, port=PORT, access_log=False)
