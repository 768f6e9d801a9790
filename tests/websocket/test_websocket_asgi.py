"""The same websocket handlers under uvicorn, through the ASGI adapter's ``websocket`` scope."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from pynecktie import Blueprint, Necktie
from pynecktie.response import text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus


def build_app() -> Necktie:
    app = Necktie("ws_asgi")
    bp = Blueprint("rooms", url_prefix="/rooms")

    @app.on_request
    def auth(request):
        if request.args.get("token") == "bad":
            return text("forbidden", status=403)
        if request.args.get("token") == "split":  # a header that would split the head: never sent
            return text("no", status=403, headers={"X-Why": "a\r\nSet-Cookie: evil=1"})
        if request.args.get("token") == "framed":  # the app's own framing header: the carrier's to write
            return text("framed", status=403, headers={"Content-Length": "999"})
        request.ctx.user = "ann"

    @app.websocket("/echo", subprotocols=["echo.v1"])
    async def echo(request, ws):
        await ws.send(f"hello {request.ctx.user} ({ws.subprotocol})")
        async for message in ws:
            await ws.send(message)

    @bp.websocket("/<room:int>")
    async def room(request, ws, room):
        await ws.send(f"room {room}")
        await ws.close(4000, "done")

    @app.websocket("/boom")
    async def boom(request, ws):
        raise RuntimeError("handler failed")

    app.blueprint(bp)
    return app


@pytest.fixture(scope="module")
def uvicorn_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(build_app(), lifespan="off", log_level="critical", ws="websockets-sansio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    yield sock.getsockname()[1]
    server.should_exit = True
    thread.join(30)
    sock.close()


async def test_echo_under_uvicorn(uvicorn_port):
    async with connect(f"ws://127.0.0.1:{uvicorn_port}/echo", subprotocols=["echo.v1"]) as ws:
        assert ws.subprotocol == "echo.v1"
        assert await ws.recv() == "hello ann (echo.v1)"
        await ws.send("text")
        assert await ws.recv() == "text"
        await ws.send(b"\x00binary")
        assert await ws.recv() == b"\x00binary"
        await asyncio.gather(*(ws.send(f"m{i}") for i in range(100)))
        assert [await ws.recv() for _ in range(100)] == [f"m{i}" for i in range(100)]
    assert ws.close_code == 1000


async def test_routing_close_codes_and_refusals_under_uvicorn(uvicorn_port):
    base = f"ws://127.0.0.1:{uvicorn_port}"
    async with connect(f"{base}/rooms/7") as ws:
        assert await ws.recv() == "room 7"
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert (ws.close_code, ws.close_reason) == (4000, "done")
    async with connect(f"{base}/boom") as ws:
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert ws.close_code == 1011
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{base}/echo?token=bad"):
            pass
    assert refused.value.response.status_code == 403
    assert refused.value.response.body == b"forbidden"  # sent through the websocket.http.response extension
    with pytest.raises(InvalidStatus) as missing:
        async with connect(f"{base}/nowhere"):
            pass
    assert missing.value.response.status_code == 404


async def test_a_refused_upgrade_follows_the_same_head_rules_as_http_under_uvicorn(uvicorn_port):
    base = f"ws://127.0.0.1:{uvicorn_port}"
    with pytest.raises(InvalidStatus) as split:
        async with connect(f"{base}/echo?token=split"):
            pass
    assert split.value.response.status_code == 500
    assert "set-cookie" not in split.value.response.headers
    with pytest.raises(InvalidStatus) as framed:
        async with connect(f"{base}/echo?token=framed"):
            pass
    assert framed.value.response.status_code == 403
    assert framed.value.response.headers.get_all("content-length") == ["6"]
    assert framed.value.response.body == b"framed"
