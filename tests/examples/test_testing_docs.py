"""docs/testing.md's examples, as real tests of examples/testing_app.py (the page quotes this file)."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import pytest
from necktie_testing import AsyncTestClient, LiveServer, TestClient, WebSocketRejected
from pynecktie.websocket import WebSocketClosed

ROOT = Path(__file__).resolve().parents[2]


def create_app():
    path = ROOT / "examples" / "testing_app.py"
    spec = importlib.util.spec_from_file_location("docs_example_testing_app", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.app


# -- a client for your app --
def test_hello():
    app = create_app()
    with TestClient(app) as client:  # before_server_start listeners run here, the stop ones at the end
        assert app.ctx.started is True
        response = client.get("/hello")
        assert response.status_code == 200
        assert response.text == "hello"


def test_in_memory():
    with TestClient(create_app(), mode="memory") as client:  # the server's protocol, no socket
        assert client.post("/items", json={"name": "tie"}).status_code == 201
        assert client.get("/items").json() == [{"name": "tie"}]


# -- what the server saw --
def test_a_handler_exception_is_reported():
    with TestClient(create_app()) as client:
        response = client.get("/crash")
        assert response.status_code == 500
        assert isinstance(response.request_handler_exception, RuntimeError)
        assert response.server_log == ["ERROR necktie.error: Exception occurred while handling uri: '/crash'"]


def test_a_handler_exception_can_fail_the_test():
    with TestClient(create_app(), raise_handler_exceptions=True) as client:
        with pytest.raises(RuntimeError, match="the handler broke"):
            client.get("/crash")


def test_the_access_log():
    with TestClient(create_app(), log_level=logging.INFO) as client:
        client.get("/hello")
        assert any('"GET /hello HTTP/1.1" 200' in line for line in client.server_log)


# -- the pytest plugin: define an `app` fixture, use the plugin's clients --
@pytest.fixture(scope="module")  # one server for the whole module
def app():
    return create_app()


def test_with_the_plugin(necktie_client):
    assert necktie_client.post("/items", json={"name": "bow"}).status_code == 201
    assert {"name": "bow"} in necktie_client.get("/items").json()


async def test_async_with_the_plugin(async_necktie_client):
    response = await async_necktie_client.get("/hello")
    assert response.text == "hello"


@pytest.mark.necktie(mode="memory")
def test_plugin_in_memory(necktie_client):
    assert necktie_client.get("/hello").text == "hello"


# -- streaming both ways --
def test_streaming_an_upload(necktie_client):
    def chunks():  # sent chunked, each chunk as it is produced
        yield b"a" * 1000
        yield b"b" * 24

    assert necktie_client.post("/upload", content=chunks()).json() == {"total": 1024}


def test_reading_a_stream_as_it_comes(necktie_client):
    with necktie_client.stream("GET", "/feed") as response:
        lines = response.iter_lines()
        assert next(lines) == "line 0"  # read while the handler is still writing
        assert list(lines) == ["line 1", "line 2"]


def test_full_duplex(necktie_client):
    with necktie_client.duplex("POST", "/echo") as duplex:
        duplex.send(b"ping")
        assert duplex.receive_until(b"PING").endswith(b"PING")  # the answer arrives mid-upload
        duplex.send(b"pong")
        assert duplex.receive_all() == b"PONG"  # ends the request body, reads to the end
        assert duplex.response.status_code == 200


# -- websockets --
def test_a_websocket(necktie_client):
    with necktie_client.websocket("/shout") as ws:
        ws.send_text("hello")
        assert ws.receive_text() == "HELLO"
        ws.send_text("bye")
        with pytest.raises(WebSocketClosed) as closed:  # the handler closed the connection
            ws.receive_text()
        assert closed.value.code == ws.close_code == 4000
        assert ws.close_reason == "see you"


async def test_a_websocket_in_memory():
    async with AsyncTestClient(create_app(), mode="memory") as client:
        async with client.websocket("/shout") as ws:
            await ws.send_text("psst")
            assert await ws.receive_text() == "PSST"
            await ws.close(4100)  # waits for the server's close frame
        assert ws.close_code == 4100


def test_a_refused_websocket(necktie_client):
    with pytest.raises(WebSocketRejected) as refused, necktie_client.websocket("/hello"):
        pass
    # /hello is no websocket route: its plain HTTP answer came back instead of a 101
    assert (refused.value.status_code, refused.value.body) == (200, b"hello")


# -- the raw connection: exact bytes on the wire --
def test_raw_bytes(necktie_server):
    with necktie_server.raw() as conn:
        conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        conn.send(b"3\r\nabc\r\n0\r\n\r\n")
        response = conn.read_response("POST")
        assert response.status == 200 and response.body == b"ABC"
        assert response.header("transfer-encoding") == "chunked"


def test_a_live_server_of_your_own():
    with LiveServer(create_app()) as server:
        with TestClient(server.app, server=server) as first, TestClient(server.app, server=server) as second:
            assert first.get("/hello").text == second.get("/hello").text == "hello"
        with server.raw() as conn:
            conn.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            conn.shutdown_write()  # FIN: the server still answers what it was asked
            assert conn.recv_all().endswith(b"hello")
