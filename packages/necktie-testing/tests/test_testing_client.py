"""TestClient and AsyncTestClient: the httpx interface, in both modes, with listeners and captured errors."""

from __future__ import annotations

import httpx
import pytest
from necktie_testing import AsyncTestClient, TestClient
from testing_apps import Probe, make_app

MODES = ["live", "memory"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def probe() -> Probe:
    return Probe()


def test_verbs_and_bodies(mode, probe):
    with TestClient(make_app(probe), mode=mode) as client:
        assert client.get("/").text == "hello"
        for method in ("post", "put", "patch"):
            response = getattr(client, method)("/echo?a=1", content=b"raw", headers={"x-probe": "p"})
            assert response.json() == {"method": method.upper(), "body": "raw",
                                       "type": "application/octet-stream", "query": "a=1", "header": "p"}
        assert client.delete("/echo").json()["method"] == "DELETE"
        assert client.post("/echo", json={"k": [1]}).json()["body"] == '{"k":[1]}'
        form = client.post("/echo", data={"a": "b c"}).json()
        assert (form["body"], form["type"]) == ("a=b+c", "application/x-www-form-urlencoded")
        files = client.post("/echo", files={"f": ("f.txt", b"file-content")}).json()
        assert "file-content" in files["body"] and files["type"].startswith("multipart/form-data")
        assert client.post("/echo", content="text ✓").json()["body"] == "text ✓"
        head = client.head("/")
        assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == "5"
        assert client.options("/echo").json()["method"] == "OPTIONS"
        assert client.request("GET", "/nowhere").status_code == 404


def test_listeners_run_around_the_client_lifetime(mode, probe):
    client = TestClient(make_app(probe), mode=mode)
    assert probe.events == []
    with client:
        assert probe.events == ["start"]
        client.get("/")
    assert probe.events == ["start", "stop"]


def test_lazy_start_and_close(mode, probe):
    client = TestClient(make_app(probe), mode=mode)
    assert client.get("/").text == "hello"
    assert probe.events == ["start"]
    client.close()
    assert probe.events == ["start", "stop"]


def test_handler_exception_and_server_log(mode, probe):
    with TestClient(make_app(probe), mode=mode) as client:
        ok = client.get("/")
        assert ok.request_handler_exception is None and ok.server_log == []
        response = client.get("/boom")
        assert response.status_code == 500
        assert isinstance(response.request_handler_exception, ValueError)
        assert str(response.request_handler_exception) == "the handler broke"
        assert response.server_log == ["ERROR necktie.error: Exception occurred while handling uri: '/boom'"]
        assert client.get("/").request_handler_exception is None  # the next exchange is clean again
        assert any("/boom" in line for line in client.server_log)


def test_an_invalid_response_is_logged_for_its_request(mode, probe):
    with TestClient(make_app(probe), mode=mode) as client:
        response = client.get("/bad-header")
        assert response.status_code == 500
        assert len(response.server_log) == 1 and "Invalid response" in response.server_log[0]


def test_exception_while_streaming_is_reported(mode, probe):
    with TestClient(make_app(probe), mode=mode) as client, client.stream("GET", "/stream-boom") as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            response.read()  # the body is cut: no terminating chunk
        assert isinstance(response.request_handler_exception, KeyError)


def test_every_read_has_a_timeout(mode, probe):
    app = make_app(probe)
    try:
        with TestClient(app, mode=mode, timeout=httpx.Timeout(30.0, read=0.3)) as client:
            with pytest.raises(httpx.ReadTimeout):
                client.get("/stall")
            with client.stream("GET", "/slow-stream") as response, pytest.raises(httpx.ReadTimeout):
                for _ in response.iter_bytes():
                    pass
    finally:
        probe.release.set()


def test_shared_live_server(probe):
    from necktie_testing import LiveServer

    with LiveServer(make_app(probe)) as server:
        for _ in range(2):
            with TestClient(server.app, server=server) as client:
                assert client.get("/").text == "hello"
        assert probe.events == ["start"]  # the clients did not restart the shared server
    assert probe.events == ["start", "stop"]


async def test_async_client(mode, probe):
    async with AsyncTestClient(make_app(probe), mode=mode) as client:
        assert probe.events == ["start"]
        assert (await client.get("/")).text == "hello"
        assert (await client.post("/echo", json=[1])).json()["body"] == "[1]"
        response = await client.get("/boom")
        assert response.status_code == 500 and isinstance(response.request_handler_exception, ValueError)
        async with client.stream("GET", "/") as streamed:
            assert [c async for c in streamed.aiter_bytes()] == [b"hello"]
    assert probe.events == ["start", "stop"]


def test_unknown_mode_is_refused(probe):
    with pytest.raises(ValueError):
        TestClient(make_app(probe), mode="socket")  # type: ignore[arg-type]


def test_raise_handler_exceptions(mode, probe):
    with TestClient(make_app(probe), mode=mode, raise_handler_exceptions=True) as client:
        with pytest.raises(ValueError, match="the handler broke"):
            client.get("/boom")
        with pytest.raises(KeyError, match="mid-stream"):
            client.get("/stream-boom")
        assert client.get("/").text == "hello"


async def test_async_raise_handler_exceptions(mode, probe):
    async with AsyncTestClient(make_app(probe), mode=mode, raise_handler_exceptions=True) as client:
        with pytest.raises(ValueError, match="the handler broke"):
            await client.get("/boom")


def test_log_level_lets_the_access_log_through(mode, probe):
    import logging
    import time

    logger = logging.getLogger("necktie")
    before = logger.level
    with TestClient(make_app(probe), mode=mode, log_level=logging.INFO) as client:
        assert logger.level == logging.INFO
        client.get("/?q=1")
        deadline = time.monotonic() + 10  # the access line is logged just after the response goes out
        while not any("necktie.access" in line for line in client.server_log) and time.monotonic() < deadline:
            time.sleep(0.01)
        access = [line for line in client.server_log if "necktie.access" in line]
        assert len(access) == 1 and '"GET /?q=1 HTTP/1.1" 200' in access[0]
    assert logger.level == before


def test_a_tls_live_server(probe, tls_contexts):
    import ssl

    from necktie_testing import LiveServer

    server_ctx, client_ctx = tls_contexts
    app = make_app(probe)

    @app.get("/scheme")
    async def scheme(request):
        from pynecktie.response import text

        return text(request.scheme)

    with LiveServer(app, ssl=server_ctx) as server:
        assert server.url.startswith("https://127.0.0.1:")
        with TestClient(app, server=server, verify=client_ctx) as client:
            assert client.get("/scheme").text == "https"
            with client.duplex("POST", "/upper") as duplex:
                duplex.send("tls")
                assert duplex.receive_until("TLS") == b"TLS"
        with TestClient(app, server=server) as trusting:  # its own server: no verification asked for
            assert trusting.get("/").text == "hello"
        with TestClient(app, server=server, verify=ssl.create_default_context()) as strict:
            with pytest.raises(httpx.ConnectError):
                strict.get("/")  # the test CA is not trusted by a default context


def test_a_closed_client_does_not_restart_the_server(mode, probe):
    client = TestClient(make_app(probe), mode=mode)
    with client:
        response = client.send(client.build_request("GET", "/slow-stream"), stream=True)
        assert response.status_code == 200
        probe.release.set()  # the graceful stop lets the handler finish
    response.close()  # after the client: harmless, and the server is not started again
    assert probe.events == ["start", "stop"]
    with pytest.raises(RuntimeError):
        client.start()
