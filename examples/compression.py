"""Response compression: on for the app, off for one route and one response, and a compressed stream.

Run it, then: curl -s --compressed -v http://127.0.0.1:8000/report
"""

import asyncio

from pynecktie import Necktie
from pynecktie.response import json, ndjson, raw, text

app = Necktie("compression")
app.config.COMPRESSION = True  # gzip always; br and zstd too when necktie-core[brotli,zstd] is installed
app.config.COMPRESSION_MIN_SIZE = 500  # smaller bodies are not worth it


@app.get("/report")
async def report(request):
    """A large JSON body: sent compressed to a client that accepts it."""
    return json({"rows": [{"id": n, "status": "ok"} for n in range(1000)]})


@app.get("/prices")
async def prices(request):
    """A stream stays a stream: every line is flushed through the compressor as it is written."""

    async def lines():
        for n in range(3):
            yield {"symbol": "NT", "price": 100 + n}
            await asyncio.sleep(0)

    return ndjson(lines())


@app.get("/download", compress=False)
async def download(request):
    """A route that is never compressed (the body is compressed data already)."""
    return raw(bytes(4096), content_type="application/octet-stream")


@app.get("/token")
async def token(request):
    """One response that must not be compressed (a secret next to text the client controls)."""
    response = text(f"token=s3cret; echo={request.args.get('echo', '')}" * 20)
    response.compress = False
    return response


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
