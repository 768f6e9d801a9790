"""An app with compression on, for `test_compression_on_every_carrier` (served by each carrier)."""

from __future__ import annotations

import asyncio
import os

from pynecktie import Necktie
from pynecktie.blueprints import Blueprint
from pynecktie.response import Event, file, json, raw, sse, stream, text

app = Necktie("compression_app")
app.config.COMPRESSION = True
app.config.COMPRESSION_MIN_SIZE = 100
STATIC = os.environ.get("COMPRESSION_STATIC_DIR")
if STATIC:
    app.static("/static", STATIC, precompressed=True)

ROWS = [{"id": n, "name": f"row {n}", "tags": ["alpha", "beta"]} for n in range(200)]
acks: dict[str, asyncio.Event] = {}


@app.get("/json")
async def as_json(request):
    return json(ROWS)


@app.route("/text", methods=["GET", "HEAD"])
async def as_text(request):
    return text("necktie " * 500)


@app.get("/small")
async def small(request):
    return text("short")


@app.get("/png")
async def png(request):
    return raw(b"\x89PNG" + bytes(2000), content_type="image/png")


@app.get("/encoded")
async def encoded(request):
    return raw(b"x" * 1000, headers={"Content-Encoding": "br"}, content_type="text/plain")


@app.get("/no-transform")
async def no_transform(request):
    return text("keep me " * 200, headers={"Cache-Control": "no-transform"})


@app.get("/flagged")
async def flagged(request):
    response = text("flagged " * 200)
    response.compress = False
    return response


@app.get("/route-off", compress=False)
async def route_off(request):
    return text("route off " * 200)


@app.get("/file")
async def a_file(request):
    return file(__file__)


@app.get("/declared")
async def declared(request):
    async def body(response):
        for _ in range(10):
            await response.write("y" * 100)

    return stream(body, headers={"Content-Length": "1000"})


@app.get("/events")
async def events(request):
    """Five events; each waits until the client says (POST /ack) that it decoded the one before."""
    ack = acks[request.args.get("run", "")] = asyncio.Event()

    async def feed():
        for n in range(5):
            yield Event(data=f"event {n}", id=str(n))
            await asyncio.wait_for(ack.wait(), 60)
            ack.clear()

    return sse(feed())


@app.post("/ack")
async def acknowledge(request):
    acks[request.args.get("run", "")].set()
    return text("ok")


@app.get("/big")
async def big(request):
    """*mib* MiB of text in 64 KiB writes."""
    chunk = (b"0123456789abcdef" * 4096)[:65536]
    count = int(request.args.get("mib", "64")) * 16

    async def body(response):
        for _ in range(count):
            await response.write(chunk)

    return stream(body)


bp = Blueprint("off", url_prefix="/bp", compress=False)


@bp.get("/text")
async def bp_text(request):
    return text("blueprint " * 200)


@bp.get("/on", compress=True)
async def bp_on(request):
    return text("route wins " * 200)


app.blueprint(bp)
