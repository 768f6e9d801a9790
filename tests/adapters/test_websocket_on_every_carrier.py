"""Websocket rules on every carrier (``ws_app``): under uvicorn and granian too, a message over the app's
WEBSOCKET_MAX_SIZE closes the connection with 1009 and the handler sees that close; a close code a server
may not send is refused before anything goes out."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from adapter_carriers import HERE, request, serving
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from ws_app import BAD_CLOSES, LIMIT, LONGEST_REASON


@pytest.fixture(scope="module")
def server(carrier, tmp_path_factory):
    log = tmp_path_factory.mktemp("ws") / "log"
    with serving(carrier, "ws_app", HERE, log, websockets=True) as running:
        yield running


def closes_seen(port: int, count: int) -> list[int]:
    """The close codes the handler saw, once there are *count* of them (it records them as it ends)."""
    deadline = time.monotonic() + 30
    while True:
        _, body = request(port, "GET", "/closes")
        seen = json.loads(body)
        if len(seen) >= count or time.monotonic() > deadline:
            return seen
        time.sleep(0.05)


async def refused(port: int, message: str | bytes | list[str]) -> int | None:
    """Send *message* on a new connection; the close code the server answered with."""
    async with connect(f"ws://127.0.0.1:{port}/sizes", max_size=None, compression=None) as ws:
        await ws.send(message)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 30)
    return ws.close_code


async def test_a_message_over_the_limit_closes_with_1009(server):
    before = len(closes_seen(server.port, 0))
    async with connect(f"ws://127.0.0.1:{server.port}/sizes", max_size=None, compression=None) as ws:
        await ws.send("t" * LIMIT)
        assert await ws.recv() == f"str {LIMIT}"
        await ws.send(b"b" * LIMIT)
        assert await ws.recv() == f"bytes {LIMIT}"
    assert await refused(server.port, "t" * (LIMIT + 1)) == 1009
    assert await refused(server.port, b"b" * (LIMIT + 1)) == 1009
    seen = closes_seen(server.port, before + 3)
    assert seen[before:] == [1000, 1009, 1009]


async def test_text_is_measured_in_utf8_bytes(server):
    async with connect(f"ws://127.0.0.1:{server.port}/sizes", max_size=None, compression=None) as ws:
        await ws.send("é" * (LIMIT // 2))  # LIMIT bytes in LIMIT / 2 characters
        assert await ws.recv() == f"str {LIMIT // 2}"
    assert await refused(server.port, "é" * (LIMIT // 2 + 1)) == 1009


async def test_a_fragmented_message_over_the_limit_closes_with_1009(server):
    async with connect(f"ws://127.0.0.1:{server.port}/sizes", max_size=None, compression=None) as ws:
        await ws.send(["x" * 100] * 10)
        assert await ws.recv() == f"str {LIMIT}"
    assert await refused(server.port, ["x" * 100] * 11) == 1009


async def test_a_close_a_server_may_not_send_is_refused(server):
    async with connect(f"ws://127.0.0.1:{server.port}/bad-close") as ws:
        assert await ws.recv() == f"refused {[code for code, _ in BAD_CLOSES]}"
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert (ws.close_code, ws.close_reason) == (4999, LONGEST_REASON)
