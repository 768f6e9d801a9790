"""The app `nt_proc.ServerProcess` runs: sleepy uploads, large and slow downloads, and ``/stats``."""

from __future__ import annotations

import asyncio
import os
import socket
import sys

from necktie_server import serve
from pynecktie import Necktie
from pynecktie.response import json, stream, text

app = Necktie("proc")
counters = {"upload_finally": 0, "upload_chunks": 0, "download_finally": 0, "download_error": ""}


@app.get("/ok")
async def ok(request):
    return text("ok")


@app.get("/stats")
async def stats(request):
    return json({**counters, "tasks": len(asyncio.all_tasks()), "fds": len(os.listdir("/proc/self/fd"))})


@app.post("/upload", stream=True, max_body_size=None)
async def upload(request):
    """Reads slowly: a pause of a millisecond after every fourth chunk."""
    total = count = 0
    try:
        while (chunk := await request.stream.get()) is not None:
            total += len(chunk)
            count += 1
            if count % 4 == 0:
                await asyncio.sleep(0.001)
    finally:
        counters["upload_finally"] += 1
    return text(str(total))


@app.get("/download")
async def download(request):
    """``?n=`` bytes in 64 KiB writes, each awaited."""
    total = int(request.args.get("n"))
    piece = b"d" * 65536

    async def body(response):
        sent = 0
        try:
            while sent < total:
                await response.write(piece)
                sent += len(piece)
        except BaseException as exc:
            counters["download_error"] = type(exc).__name__
            raise
        finally:
            counters["download_finally"] += 1
    return stream(body, content_type="application/octet-stream")


@app.get("/ticks")
async def ticks(request):
    """``?n=`` ticks, ``?delay=`` seconds apart."""
    count, delay = int(request.args.get("n")), float(request.args.get("delay"))

    async def body(response):
        for i in range(count):
            await response.write(b"tick%d " % i)
            await asyncio.sleep(delay)
    return stream(body)


if __name__ == "__main__":
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    print("PORT", sock.getsockname()[1], flush=True)
    sys.stdout.close()
    serve(app, sock=sock, access_log=False)
