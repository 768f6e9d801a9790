"""The code blocks of docs/websockets.md, verbatim, served and exercised."""

from __future__ import annotations

import pytest
from necktie_testing import LiveServer
from pynecktie.response import text
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

SECRET = "s3cret"

# -- docs/websockets.md: the first example ------------------------------------------------------------
from pynecktie import Necktie

app = Necktie("feed")

@app.websocket("/echo")
async def echo(request, ws):
    async for message in ws:          # str for text messages, bytes for binary ones
        await ws.send(message)
# -- docs/websockets.md: middleware refusing the upgrade ------------------------------------------------
@app.on_request
async def auth(request):
    if request.args.get("token") != SECRET:
        return text("forbidden", status=403)     # the client's handshake fails with 403
# ------------------------------------------------------------------------------------------------------


async def test_the_documented_echo_and_its_middleware():
    with LiveServer(app) as server:
        async with connect(f"ws://127.0.0.1:{server.port}/echo?token={SECRET}") as ws:
            await ws.send("text")
            assert await ws.recv() == "text"
            await ws.send(b"bytes")
            assert await ws.recv() == b"bytes"
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"ws://127.0.0.1:{server.port}/echo"):
                pass
        assert refused.value.response.status_code == 403
