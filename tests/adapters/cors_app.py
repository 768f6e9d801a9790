"""An app with CORS on, for `test_cors_on_every_carrier` (served by each carrier)."""

from __future__ import annotations

import asyncio

from pynecktie import Necktie
from pynecktie.blueprints import Blueprint
from pynecktie.response import stream, text

PAGE = "http://127.0.0.1:5173"

app = Necktie("cors_app")
app.config.CORS_ORIGINS = [PAGE, r"^https://[a-z]+\.example$"]
app.config.CORS_CREDENTIALS = True
app.config.CORS_HEADERS = ["X-Token"]
app.config.CORS_EXPOSE_HEADERS = ["X-Total"]
app.config.COMPRESSION = True
app.config.COMPRESSION_MIN_SIZE = 100
acks: dict[str, asyncio.Event] = {}


@app.route("/items", methods=["GET", "PUT"])
async def items(request):
    return text("items " * 50, headers={"X-Total": "50"})


@app.get("/boom")
async def boom(request):
    raise RuntimeError("boom")


@app.get("/ticks")
async def ticks(request):
    """Three ticks; each after the client said (POST /ack) that it read the one before."""
    ack = acks[request.args.get("run", "")] = asyncio.Event()

    async def body(response):
        for n in range(3):
            await response.write(f"tick {n}\n")
            await asyncio.wait_for(ack.wait(), 60)
            ack.clear()

    return stream(body, content_type="text/plain")


@app.post("/ack")
async def acknowledge(request):
    acks[request.args.get("run", "")].set()
    return text("ok")


@app.post("/upload", max_body_size=10)
async def upload(request):
    return text("stored")


@app.get("/private", cors=False)
async def private(request):
    return text("private")


public = Blueprint("public", url_prefix="/public", cors={"origins": "*", "credentials": False})


@public.get("/")
async def open_to_all(request):
    return text("public")


app.blueprint(public)
