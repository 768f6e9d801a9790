"""Back-pressure both ways: an upload read at the handler's pace, a download written at the client's pace."""

import asyncio
import hashlib

from pynecktie import Necktie
from pynecktie.response import stream, text

app = Necktie("backpressure")


@app.post("/digest", stream=True, max_body_size=None)
async def digest(request):
    # The server stops reading the socket while this handler is busy: the client is slowed down,
    # nothing piles up in memory, however large the upload.
    sha = hashlib.sha256()
    size = 0
    while (chunk := await request.stream.get()) is not None:
        sha.update(chunk)
        size += len(chunk)
        await asyncio.sleep(0)  # stand-in for real work per chunk
    return text(f"{size} bytes, sha256 {sha.hexdigest()}")


@app.get("/zeros/<mib:int>")
async def zeros(request, mib):
    async def produce(response):
        block = bytes(65536)
        for _ in range(mib * 16):
            # Awaiting write waits while the client is slow to read: memory stays flat.
            await response.write(block)

    return stream(produce, content_type="application/octet-stream")


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
