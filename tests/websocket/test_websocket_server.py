"""WebSockets on necktie-server, driven over 127.0.0.1 by the `websockets` client and by raw sockets."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil
import socket
import ssl
import struct
import subprocess
import threading

import pytest
from necktie_testing import LiveServer, TestClient
from pynecktie import Blueprint, Necktie
from pynecktie.response import text
from pynecktie.websocket import WebSocketClosed
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from ws_wire import masked, raw_handshake, read_frames

MiB = 1 << 20


def url(server: LiveServer, path: str) -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


def echo_app(**config: object) -> Necktie:
    app = Necktie("ws_echo")
    for key, value in config.items():
        app.config[key] = value

    @app.websocket("/echo")
    async def echo(request, ws):
        async for message in ws:
            await ws.send(message)

    return app


@pytest.fixture(scope="module")
def echo_server():
    with LiveServer(echo_app()) as server:
        yield server


async def test_echo_text_and_binary(echo_server):
    async with connect(url(echo_server, "/echo")) as ws:
        await ws.send("héllo")
        assert await ws.recv() == "héllo"
        await ws.send(b"\x00\xffbinary")
        assert await ws.recv() == b"\x00\xffbinary"
        await ws.send(["frag", "mented"])  # one text message in two frames
        assert await ws.recv() == "fragmented"
    assert ws.close_code == 1000


async def test_permessage_deflate_is_negotiated_when_offered(echo_server):
    async with connect(url(echo_server, "/echo")) as ws:
        assert "permessage-deflate" in ws.response.headers.get("Sec-WebSocket-Extensions", "")
        big = "compressible " * 20000
        await ws.send(big)
        assert await ws.recv() == big
    async with connect(url(echo_server, "/echo"), compression=None) as ws:
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        await ws.send("plain")
        assert await ws.recv() == "plain"


async def test_a_thousand_messages_each_way_concurrently():
    app = Necktie("ws_both_ways")
    count = 1000

    @app.websocket("/both")
    async def both(request, ws):
        async def produce():
            for i in range(count):
                await ws.send(f"server {i}")

        producer = asyncio.create_task(produce())
        received = []
        for _ in range(count):
            received.append(await ws.recv())
        await producer
        in_order = received == [f"client {i}".encode() for i in range(count)]
        await ws.send(f"done {len(received)} {in_order}")

    with LiveServer(app) as server:
        async with connect(url(server, "/both")) as ws:
            async def send_all():
                for i in range(count):
                    await ws.send(f"client {i}".encode())

            sender = asyncio.create_task(send_all())
            got = [await ws.recv() for _ in range(count)]
            await sender
            assert got == [f"server {i}" for i in range(count)]
            assert await ws.recv() == f"done {count} True"


async def test_oversize_message_closes_with_1009():
    seen: list[int | None] = []
    app = Necktie("ws_limit")
    app.config.WEBSOCKET_MAX_SIZE = MiB

    @app.websocket("/limited")
    async def limited(request, ws):
        async for message in ws:
            await ws.send(f"got {len(message)}")
        seen.append(ws.close_code)

    with LiveServer(app) as server:
        async with connect(url(server, "/limited"), compression=None, max_size=None) as ws:
            await ws.send(b"x" * MiB)  # exactly at the limit: fine
            assert await ws.recv() == f"got {MiB}"
            try:
                await ws.send(os.urandom(10 * MiB))
            except ConnectionClosed:
                pass  # the server may close while the client is still writing
            with pytest.raises(ConnectionClosed):
                await ws.recv()
        assert ws.close_code == 1009
        await asyncio.wait_for(_until(lambda: seen), 10)
        assert seen == [1009]


@pytest.mark.parametrize("mode", ["live", "memory"])
def test_handler_close_code_and_reason_reach_the_client(mode):
    app = Necktie("ws_close")

    @app.websocket("/bye")
    async def bye(request, ws):
        await ws.send("before")
        await ws.close(4000, "see you")

    with TestClient(app, mode=mode) as client, client.websocket("/bye") as ws:
        assert ws.receive_text() == "before"
        with pytest.raises(WebSocketClosed):
            ws.receive_text()
        assert (ws.close_code, ws.close_reason) == (4000, "see you")


@pytest.mark.parametrize("mode", ["live", "memory"])
def test_client_close_code_reaches_the_handler_and_none_on_close(mode):
    seen: list[tuple] = []
    app = Necktie("ws_client_close")

    @app.websocket("/raise")
    async def raises(request, ws):
        try:
            await ws.recv()
        except WebSocketClosed as exc:
            seen.append(("raised", exc.code, exc.reason, ws.closed))

    @app.websocket("/none")
    async def returns_none(request, ws):
        seen.append(("none", await ws.recv(none_on_close=True), ws.close_code))

    with TestClient(app, mode=mode) as client:
        with client.websocket("/raise") as ws:
            ws.close(4001, "client leaves")
        with client.websocket("/none") as ws:
            ws.close(4002)
    # (the client stopped the server, so the handlers are done)
    assert seen == [("raised", 4001, "client leaves", True), ("none", None, 4002)]


@pytest.mark.parametrize("mode", ["live", "memory"])
def test_recv_timeout_raises_timeouterror_and_keeps_the_connection(mode):
    app = Necktie("ws_timeout")

    @app.websocket("/t")
    async def timed(request, ws):
        try:
            await ws.recv(timeout=0.05)
        except TimeoutError:
            await ws.send("timed out")
        await ws.send(f"then {await ws.recv(timeout=30)}")

    with TestClient(app, mode=mode) as client, client.websocket("/t") as ws:
        assert ws.receive_text() == "timed out"
        ws.send_text("late")
        assert ws.receive_text() == "then late"


async def test_handler_exception_closes_with_1011_and_is_logged(caplog):
    app = Necktie("ws_boom")

    @app.websocket("/boom")
    async def boom(request, ws):
        await ws.recv()
        raise ValueError("kaboom")

    with caplog.at_level(logging.ERROR, logger="necktie.error"), LiveServer(app) as server:
        async with connect(url(server, "/boom")) as ws:
            await ws.send("go")
            with pytest.raises(ConnectionClosed):
                await ws.recv()
        assert ws.close_code == 1011
    errors = [r for r in caplog.records if r.name == "necktie.error" and r.exc_info]
    assert any(isinstance(r.exc_info[1], ValueError) and "kaboom" in str(r.exc_info[1]) for r in errors)


@pytest.mark.parametrize("mode", ["live", "memory"])
def test_subprotocol_selection(mode):
    app = Necktie("ws_sub")

    @app.websocket("/chat", subprotocols=["chat.v2", "chat.v1"])
    async def chat(request, ws):
        await ws.send(f"speaking {ws.subprotocol}")

    with TestClient(app, mode=mode) as client:
        with client.websocket("/chat", subprotocols=["chat.v1", "chat.v2"]) as ws:
            assert ws.subprotocol == "chat.v2"  # the server's preference wins
            assert ws.receive_text() == "speaking chat.v2"
        with client.websocket("/chat", subprotocols=["chat.v1"]) as ws:
            assert ws.receive_text() == "speaking chat.v1"
        with client.websocket("/chat") as ws:
            assert ws.subprotocol is None
            assert ws.receive_text() == "speaking None"


async def test_middleware_runs_before_the_upgrade_and_can_refuse_it():
    app = Necktie("ws_mw")
    bp = Blueprint("feeds", url_prefix="/feeds")
    order: list[str] = []

    @app.on_request
    async def auth(request):
        order.append(f"app {request.path}")
        if request.args.get("token") != "ok":
            return text("go away", status=403)
        request.ctx.user = "ann"

    @bp.on_request
    def bp_mw(request):
        order.append("bp")

    @bp.websocket("/<room:int>")
    async def room(request, ws, room):
        await ws.send(f"{request.ctx.user} in {room}")

    app.blueprint(bp)

    async def fn_handler(request, ws):
        await ws.send("added")

    app.add_websocket_route(fn_handler, "/added")

    with LiveServer(app) as server:
        async with connect(url(server, "/feeds/7?token=ok")) as ws:
            assert await ws.recv() == "ann in 7"
        assert order == ["app /feeds/7", "bp"]
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url(server, "/feeds/7")):
                pass
        assert refused.value.response.status_code == 403
        assert refused.value.response.body == b"go away"
        async with connect(url(server, "/added?token=ok")) as ws:
            assert await ws.recv() == "added"
        assert app.url_for("feeds.room", room=3) == "/feeds/3"


def test_bad_handshakes_get_400_and_plain_requests_426(echo_server):
    sock, response = raw_handshake(echo_server.port, version=b"8")
    sock.close()
    assert response.startswith(b"HTTP/1.1 400 ")
    sock, response = raw_handshake(echo_server.port, key=b"")
    sock.close()
    assert response.startswith(b"HTTP/1.1 400 ")
    sock, response = raw_handshake(echo_server.port, key=b"not-base64-16-bytes")
    sock.close()
    assert response.startswith(b"HTTP/1.1 400 ")
    with socket.create_connection(("127.0.0.1", echo_server.port), timeout=10) as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        response = sock.recv(65536)
    assert response.startswith(b"HTTP/1.1 426 ")
    assert b"upgrade: websocket" in response.lower()


def test_the_server_answers_frames_sent_right_behind_the_handshake(echo_server):
    # A client may send its first frame in the same packet as the upgrade request: it must not be lost.
    early = masked(0x1, b"early")
    sock, response = raw_handshake(echo_server.port, trailing=early)
    assert response.startswith(b"HTTP/1.1 101 ")
    head, _, rest = response.partition(b"\r\n\r\n")
    while len(rest) < 7:
        rest += sock.recv(4096)
    sock.sendall(masked(0x8, struct.pack("!H", 1000)))
    frames = read_frames(sock, rest)
    sock.close()
    assert frames[0] == (0x1, b"early")
    assert frames[-1] == (0x8, struct.pack("!H", 1000))


def test_invalid_frames_close_with_1002(echo_server):
    sock, response = raw_handshake(echo_server.port)
    assert response.startswith(b"HTTP/1.1 101 ")
    sock.sendall(masked(0x1, b"bad", first_byte_extra=0x20))  # RSV2 set, no extension negotiated
    frames = read_frames(sock)
    sock.close()
    assert frames[-1][0] == 0x8 and struct.unpack("!H", frames[-1][1][:2])[0] == 1002
    sock, response = raw_handshake(echo_server.port)
    sock.sendall(bytes([0x81, 0x03]) + b"abc")  # unmasked client frame
    frames = read_frames(sock)
    sock.close()
    assert frames[-1][0] == 0x8 and struct.unpack("!H", frames[-1][1][:2])[0] == 1002
    sock, response = raw_handshake(echo_server.port)
    sock.sendall(masked(0x1, b"\xff\xfe"))  # not UTF-8
    frames = read_frames(sock)
    sock.close()
    assert frames[-1][0] == 0x8 and struct.unpack("!H", frames[-1][1][:2])[0] == 1007


async def test_ping_timeout_detects_a_peer_that_stopped_answering():
    seen: list[int] = []
    app = Necktie("ws_ping")
    app.config.WEBSOCKET_PING_INTERVAL = 0.2
    app.config.WEBSOCKET_PING_TIMEOUT = 0.5

    @app.websocket("/quiet")
    async def quiet(request, ws):
        try:
            await ws.recv()
        except WebSocketClosed as exc:
            seen.append(exc.code)

    with LiveServer(app) as server:
        sock, response = await asyncio.to_thread(raw_handshake, server.port, path=b"/quiet")
        assert response.startswith(b"HTTP/1.1 101 ")
        # The client neither reads nor answers pings: the handler must learn the peer is gone.
        await asyncio.wait_for(_until(lambda: seen), 20)
        frames = await asyncio.to_thread(read_frames, sock)
        sock.close()
    assert seen == [1011]
    assert frames[0][0] == 0x9  # the ping that went unanswered
    assert frames[-1][0] == 0x8 and struct.unpack("!H", frames[-1][1][:2])[0] == 1011


async def test_pings_answered_keep_the_connection_open():
    app = echo_app(WEBSOCKET_PING_INTERVAL=0.05, WEBSOCKET_PING_TIMEOUT=5)
    with LiveServer(app) as server:
        async with connect(url(server, "/echo"), ping_interval=None) as ws:
            for i in range(5):  # the client library answers the server's pings by itself
                await asyncio.sleep(0.1)
                await ws.send(str(i))
                assert await ws.recv() == str(i)


async def test_slow_reader_makes_send_wait_with_bounded_server_memory():
    total, size = 100, MiB
    progress = {"sent": 0, "max_buffer": 0, "done": False}
    app = Necktie("ws_slow")
    high = app.config.WRITE_BUFFER_HIGH
    payload = os.urandom(size)

    @app.websocket("/firehose")
    async def firehose(request, ws):
        for _ in range(total):
            await ws.send(payload)
            progress["sent"] += 1
            progress["max_buffer"] = max(progress["max_buffer"], ws.transport.get_write_buffer_size())
        progress["done"] = True

    with LiveServer(app) as server:
        async with connect(url(server, "/firehose"), compression=None, max_queue=1,
                           max_size=None) as ws:
            assert await ws.recv() == payload
            await asyncio.sleep(2)  # a reader that pauses: the server's sends must wait meanwhile
            stalled_at = progress["sent"]
            received = 1
            while received < total:
                assert await ws.recv() == payload
                received += 1
        await asyncio.wait_for(_until(lambda: progress["done"]), 30)
    # Without back-pressure all 100 MiB would have been queued in the server at once.
    assert stalled_at < total // 2
    assert progress["max_buffer"] <= high


async def test_graceful_shutdown_closes_open_websockets_with_1001():
    seen: list[int] = []
    app = Necktie("ws_shutdown")

    @app.websocket("/stay")
    async def stay(request, ws):
        await ws.send("hello")
        try:
            async for _ in ws:
                pass
        finally:
            seen.append(ws.close_code)

    server = LiveServer(app).start()
    try:
        async with connect(url(server, "/stay")) as ws:
            assert await ws.recv() == "hello"
            stopper = threading.Thread(target=server.stop)
            stopper.start()
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1001
    finally:
        await asyncio.to_thread(server.stop)
    assert seen == [1001]


async def test_connection_drop_cancels_a_handler_waiting_elsewhere():
    events: list[str] = []
    app = Necktie("ws_drop")
    forever = asyncio.Event()

    @app.websocket("/idle")
    async def idle(request, ws):
        await ws.send("ready")
        try:
            await forever.wait()  # not waiting on the websocket: only cancellation can end this
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    with LiveServer(app) as server:
        sock, response = await asyncio.to_thread(raw_handshake, server.port, path=b"/idle")
        assert response.startswith(b"HTTP/1.1 101 ")
        sock.close()
        await asyncio.wait_for(_until(lambda: events), 10)
    assert events == ["cancelled"]


async def _until(predicate, interval: float = 0.02) -> None:
    while not predicate():
        await asyncio.sleep(interval)


async def test_a_websocket_outlives_response_timeout():
    app = echo_app(RESPONSE_TIMEOUT=0.2)
    with LiveServer(app) as server:
        async with connect(url(server, "/echo")) as ws:
            await asyncio.sleep(0.6)  # RESPONSE_TIMEOUT bounds HTTP handlers, not websocket sessions
            await ws.send("still here")
            assert await ws.recv() == "still here"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
async def test_echo_over_tls(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    with LiveServer(echo_app(), ssl=server_ctx) as server:
        async with connect(f"wss://127.0.0.1:{server.port}/echo", ssl=client_ctx) as ws:
            await ws.send("secret")
            assert await ws.recv() == "secret"
            await ws.send(os.urandom(300_000))  # several TLS records each way
            assert len(await ws.recv()) == 300_000
        assert ws.close_code == 1000


async def test_a_client_that_vanishes_ends_a_sending_handler_quietly(caplog):
    ended: list[str] = []
    app = Necktie("ws_vanish")

    @app.websocket("/ticks")
    async def ticks(request, ws):
        try:
            for i in range(100_000):  # bounded: stops by itself even if the close were never noticed
                await ws.send(f"tick {i}")
                await asyncio.sleep(0.001)
            ended.append("finished")
        except WebSocketClosed as exc:  # the drop noticed in send()
            ended.append(f"closed {exc.code}")
        except asyncio.CancelledError:  # the drop came while it slept: it is cancelled (see the docs)
            ended.append("cancelled")
            raise

    with caplog.at_level(logging.ERROR, logger="necktie.error"), LiveServer(app) as server:
        sock, response = await asyncio.to_thread(raw_handshake, server.port, path=b"/ticks")
        assert response.startswith(b"HTTP/1.1 101 ")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # RST, no close frame
        await asyncio.wait_for(_until(lambda: ended), 10)
    assert ended in (["closed 1006"], ["cancelled"])
    assert not [r for r in caplog.records if r.name == "necktie.error"]


def test_an_upgrade_pipelined_behind_a_request_is_answered_over_http(echo_server):
    # Taking a connection over is only done for an upgrade that is alone in line: behind another request,
    # the upgrade is ignored as any upgrade the server does not do (RFC 9110 §7.8), so the websocket
    # route answers it over HTTP (426), after the request before it, and nothing switches protocols.
    key = base64.b64encode(os.urandom(16))
    with socket.create_connection(("127.0.0.1", echo_server.port), timeout=10) as sock:
        sock.sendall(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        data = b""
        while b"HTTP/1.1 426 " not in data and (chunk := sock.recv(65536)):
            data += chunk
    assert data.startswith(b"HTTP/1.1 404 ") and b"HTTP/1.1 426 " in data
    assert b" 101 " not in data
