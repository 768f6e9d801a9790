"""uvicorn + Litestar with its compression, serving the compression benchmark's bodies (apps/bodies.py).

Usage: python compression_litestar.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
The brotli backend with gzip as its fallback (one app serves both): brotli quality 4 (its default is 5)
and gzip level 6 (its default is 9), to match Necktie's; minimum_size 500 as Necktie's. No zstd.
"""

import os
import sys

import uvicorn
from bodies import BODIES
from litestar import Litestar, MediaType, Response, get
from litestar.config.compression import CompressionConfig

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))


@get("/hello", media_type=MediaType.TEXT)
async def hello() -> str:
    return "Hello, world!"


def _serve(name: str, body: bytes, content_type: str):
    @get(f"/{name}", name=name)
    async def handler() -> Response[bytes]:
        return Response(content=body, media_type=content_type)

    return handler


app = Litestar(
    route_handlers=[hello] + [_serve(name, make(), ctype) for name, (make, ctype) in BODIES.items()],
    compression_config=CompressionConfig(
        backend="brotli", brotli_quality=4, brotli_gzip_fallback=True, gzip_compress_level=6, minimum_size=500
    ),
)

if __name__ == "__main__":
    uvicorn.run(app, host=HOST, port=PORT, access_log=False, log_level="warning")
