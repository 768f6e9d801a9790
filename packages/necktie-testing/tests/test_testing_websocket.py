"""`client.websocket(...)`: sync and async, over a live server's sockets and over the in-memory transport."""

from __future__ import annotations

import asyncio

import pytest
from necktie_testing import AsyncTestClient, AsyncWebSocketSession, LiveServer, TestClient, WebSocketRejected
from necktie_testing.streams import SocketStream
from pynecktie import Necktie
from pynecktie.response import text
from pynecktie.websocket import WebSocketClosed
from websockets.frames import Frame, Opcode
from websockets.server import ServerProtocol

MODES = ["live", "memory"]


def make_app() -> Necktie:
    app = Necktie("ws_client")
    app.ctx.closed_with = []

    @app.websocket("/echo")
    async def echo(request, ws):
        try:
            async for message in ws:
                if message == "bye":
                    await ws.close(4000, "bye yourself")
                    return
                await ws.send(message)
        finally:
            app.ctx.closed_with.append(ws.close_code)

    @app.websocket("/hello/<name>", subprotocols=["chat.v2", "chat.v1"])
    async def hello(request, ws, name):
        await ws.send(f"hello {name}, {request.headers.get('x-team', '-')}, {ws.subprotocol}")

    @app.websocket("/silent")
    async def silent(request, ws):
        await ws.recv()

    @app.middleware("request")
    async def gate(request):
        if request.args.get("deny"):
            return text("members only", status=403)

    return app


@pytest.mark.parametrize("mode", MODES)
def test_messages_both_ways(mode):
    with TestClient(make_app(), mode=mode) as client, client.websocket("/echo") as ws:
        ws.send_text("hi")
        assert ws.receive_text() == "hi"
        ws.send_bytes(b"\x00\xff")
        assert ws.receive_bytes() == b"\x00\xff"
        ws.send_json({"n": [1, 2]})
        assert ws.receive_json() == {"n": [1, 2]}
        ws.send("x" * 300_000)  # many socket reads, one message
        assert ws.receive() == "x" * 300_000


@pytest.mark.parametrize("mode", MODES)
def test_the_server_closing_is_seen_with_its_code(mode):
    with TestClient(make_app(), mode=mode) as client, client.websocket("/echo") as ws:
        ws.send_text("bye")
        with pytest.raises(WebSocketClosed) as closed:
            ws.receive_text()
        assert (closed.value.code, closed.value.reason) == (4000, "bye yourself")
        assert (ws.close_code, ws.close_reason) == (4000, "bye yourself")
        with pytest.raises(WebSocketClosed):
            ws.send_text("anyone?")
        with pytest.raises(WebSocketClosed):
            ws.receive()


@pytest.mark.parametrize("mode", MODES)
def test_the_client_closing_with_a_code(mode):
    app = make_app()
    with TestClient(app, mode=mode) as client:
        with client.websocket("/echo") as ws:
            ws.close(4100, "done here")
            assert ws.close_code == 4100  # the server answers with the client's code
        with client.websocket("/echo") as ws:
            ws.send_text("one")
        assert ws.close_code == 1000  # leaving the block closes normally
        assert _eventually(lambda: app.ctx.closed_with == [4100, 1000])


@pytest.mark.parametrize("mode", MODES)
def test_a_refused_handshake_is_an_error_with_the_response(mode):
    with TestClient(make_app(), mode=mode) as client:
        with pytest.raises(WebSocketRejected) as refused, client.websocket("/echo?deny=1"):
            pass
        assert (refused.value.status_code, refused.value.body) == (403, b"members only")
        with pytest.raises(WebSocketRejected) as refused, client.websocket("/nowhere"):
            pass
        assert refused.value.status_code == 404


@pytest.mark.parametrize("mode", MODES)
def test_path_parameters_headers_and_subprotocols(mode):
    with TestClient(make_app(), mode=mode) as client:
        options = {"headers": [("X-Team", "ties")], "subprotocols": ["chat.v1"]}
        with client.websocket("/hello/ann", **options) as ws:
            assert ws.subprotocol == "chat.v1"
            assert ws.response_headers["Sec-WebSocket-Protocol"] == "chat.v1"
            assert ws.receive_text() == "hello ann, ties, chat.v1"
            with pytest.raises(WebSocketClosed):
                ws.receive_text()
            assert ws.close_code == 1000  # the handler returned


@pytest.mark.parametrize("mode", MODES)
def test_a_receive_timeout_leaves_the_connection_open(mode):
    with TestClient(make_app(), mode=mode) as client, client.websocket("/echo") as ws:
        with pytest.raises(TimeoutError):
            ws.receive(timeout=0.05)
        ws.send_text("still there")
        assert ws.receive_text() == "still there"


@pytest.mark.parametrize("mode", MODES)
def test_the_wrong_kind_of_message(mode):
    with TestClient(make_app(), mode=mode) as client, client.websocket("/echo") as ws:
        ws.send_bytes(b"raw")
        with pytest.raises(TypeError, match="expected a text message"):
            ws.receive_text()
        ws.send_text("text")
        with pytest.raises(TypeError, match="expected a binary message"):
            ws.receive_bytes()


@pytest.mark.parametrize("mode", MODES)
async def test_async_client(mode):
    app = make_app()
    async with AsyncTestClient(app, mode=mode) as client:
        async with client.websocket("/echo", compress=True) as ws:
            assert "permessage-deflate" in ws.response_headers["Sec-WebSocket-Extensions"]
            await ws.send_text("squeeze " * 1000)
            assert await ws.receive_text() == "squeeze " * 1000
            await ws.send_json([1])
            assert await ws.receive_json() == [1]
            await ws.close(4200)
        assert ws.close_code == 4200
        async with client.websocket("/echo") as ws:
            await ws.send_text("bye")
            with pytest.raises(WebSocketClosed):
                await ws.receive()
            assert ws.close_code == 4000


def test_a_shared_live_server_over_tls(tls_contexts):
    server_ctx, client_ctx = tls_contexts
    app = make_app()
    with LiveServer(app, ssl=server_ctx) as server:
        with TestClient(app, server=server, verify=client_ctx) as client, client.websocket("/echo") as ws:
            ws.send_text("over tls")
            assert ws.receive_text() == "over tls"
        with TestClient(app, server=server) as second, second.websocket("/hello/bob") as ws:
            assert ws.receive_text() == "hello bob, -, None"


@pytest.mark.parametrize("mode", MODES)
async def test_server_shutdown_is_seen_as_going_away(mode):
    async with AsyncTestClient(make_app(), mode=mode) as client, client.websocket("/silent") as ws:
        stopping = asyncio.create_task(client.stop())
        with pytest.raises(WebSocketClosed) as closed:
            await ws.receive()
        assert closed.value.code == ws.close_code == 1001
        await stopping


async def test_fragments_and_pings_from_the_server_over_a_socket():
    """A server the `websockets` package drives by hand: a fragmented message with a ping between its
    fragments is put back together, and the ping answered."""
    pongs: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        protocol = ServerProtocol()

        async def events() -> list:
            protocol.receive_data(await reader.read(65536))
            return protocol.events_received()

        request = None
        while request is None:
            request = next(iter(await events()), None)
        protocol.send_response(protocol.accept(request))
        protocol.send_text(b"frag", fin=False)
        protocol.send_continuation(b"men", fin=False)
        protocol.send_ping(b"are you there")
        protocol.send_continuation(b"ted", fin=True)
        protocol.send_close(1000, "that was all")
        writer.write(b"".join(protocol.data_to_send()))
        opcodes: list[Opcode] = []
        while Opcode.CLOSE not in opcodes:
            for event in await events():
                assert isinstance(event, Frame)
                opcodes.append(event.opcode)
                if event.opcode is Opcode.PONG:
                    pongs.append(event.data)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        url = f"ws://127.0.0.1:{port}/"
        async with AsyncWebSocketSession(lambda: SocketStream.connect("127.0.0.1", port), url) as ws:
            assert await ws.receive_text() == "fragmented"
            with pytest.raises(WebSocketClosed):
                await ws.receive()
        assert (ws.close_code, ws.close_reason) == (1000, "that was all")
        assert pongs == [b"are you there"]
    finally:
        server.close()
        await server.wait_closed()


def _eventually(check, timeout: float = 20.0):
    import time

    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)
    return check()
