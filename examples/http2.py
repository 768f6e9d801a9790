"""HTTP/2 (docs/http2.md): the same handlers, many streams on one connection.

Run it, then: curl --http2-prior-knowledge http://127.0.0.1:8000/version
"""

import asyncio

from pynecktie import Necktie
from pynecktie.response import Event, sse, stream, text

app = Necktie("http2")
app.config.HTTP2 = True  # needs: pip install "necktie-server[http2]"


@app.get("/version")
async def version(request):
    return text(f"HTTP/{request.version} for {request.host}")


@app.get("/ticks")
async def ticks(request):
    """Server-sent events: a page may hold dozens of these on one HTTP/2 connection."""

    async def feed():
        for n in range(3):
            yield Event(data=f"tick {n}", id=str(n))
            await asyncio.sleep(0.01)

    return sse(feed())


@app.post("/upper", stream=True)
async def upper(request):
    """Full duplex: each piece is answered as it arrives; the stream's window is the back-pressure."""

    async def body(response):
        async for chunk in request.stream:
            await response.write(chunk.upper())

    return stream(body)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
