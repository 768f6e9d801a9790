"""examples/websocket_feed.py, the chat room, served by the real server and joined by `websockets` clients."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from necktie_testing import LiveServer, TestClient, WebSocketRejected
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "websocket_feed.py"


@pytest.fixture(scope="module")
def chat_server():
    spec = importlib.util.spec_from_file_location("example_websocket_feed", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    with LiveServer(module.app) as server:
        yield server


async def test_members_see_each_others_messages_and_comings_and_goings(chat_server):
    base = f"ws://127.0.0.1:{chat_server.port}/chat"
    # A member joins the room a moment after the handshake (the handler adds it), so each one speaks first:
    # its own message coming back proves it is in the room before the test relies on it.
    async with connect(f"{base}?name=ann") as ann:
        await ann.send("hello")
        assert await ann.recv() == "ann: hello"
        async with connect(f"{base}?name=bob") as bob:
            assert await ann.recv() == "* bob joined"
            await bob.send("hi ann")
            assert await bob.recv() == "bob: hi ann"
            assert await ann.recv() == "bob: hi ann"
            await ann.send("hi bob")
            assert await ann.recv() == "ann: hi bob"
            assert await bob.recv() == "ann: hi bob"
        assert await ann.recv() == "* bob left"


async def test_joining_without_a_name_is_refused_before_the_upgrade(chat_server):
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"ws://127.0.0.1:{chat_server.port}/chat"):
            pass
    assert refused.value.response.status_code == 400


@pytest.mark.parametrize("mode", ["live", "memory"])
def test_the_room_with_the_test_client(chat_server, mode):
    with TestClient(chat_server.app, mode=mode) as client:
        with client.websocket("/chat?name=ann") as ann:
            ann.send_text("hello")
            assert ann.receive_text() == "ann: hello"  # ann is in the room
            with client.websocket("/chat?name=bob") as bob:
                assert ann.receive_text() == "* bob joined"
                bob.send_text("hi ann")
                assert bob.receive_text() == ann.receive_text() == "bob: hi ann"
            assert ann.receive_text() == "* bob left"
        with pytest.raises(WebSocketRejected) as refused, client.websocket("/chat"):
            pass
        assert refused.value.status_code == 400
