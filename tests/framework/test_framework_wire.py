"""The framework's behaviours through the real server and the test client: hostile bodies, automatic
HEAD/OPTIONS/405, middleware short-circuiting an unread upload, proxy headers, listeners."""

from __future__ import annotations

import asyncio

import pytest
from necktie_testing import LiveServer, TestClient
from pynecktie import Necktie
from pynecktie.response import json, text


@pytest.fixture(scope="module")
def client():
    app = Necktie("wire")
    app.ctx.events = []

    @app.before_server_start
    def started(app_, loop):
        app_.ctx.events.append(("start", isinstance(loop, asyncio.AbstractEventLoop)))

    @app.post("/json")
    def body_json(request):
        return json({"got": request.json})

    @app.post("/form")
    def body_form(request):
        files = {k: [f.name for f in v] for k, v in request.files.items()}
        return json({"form": request.form, "files": files})

    @app.route("/thing", methods=["GET", "PUT"])
    def thing(request):
        return text("thing " * 10)

    @app.on_request
    def gate(request):
        if request.path == "/upload" and request.headers.get("x-key") != "ok":
            return text("no key", status=403)

    @app.post("/upload", stream=True)
    async def upload(request):
        size = 0
        while (chunk := await request.stream.get()) is not None:
            size += len(chunk)
        return text(str(size))

    @app.get("/who")
    def who(request):
        return json({"client": request.client_ip, "scheme": request.scheme})

    with TestClient(app) as c:
        yield c


@pytest.mark.parametrize("body", [b"{", b'{"a": 1,}', b"\xff", b"nul\x00l", b"[" * 10000])
def test_malformed_json_is_a_clear_400(client, body):
    response = client.post("/json", content=body, headers={"Content-Type": "application/json",
                                                           "Accept": "application/json"})
    assert response.status_code == 400
    assert "json" in response.json()["message"].lower()


@pytest.mark.parametrize(("content_type", "body"), [
    ("multipart/form-data; boundary=B", b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv"),
    ("multipart/form-data; boundary=B", b"not multipart at all"),
    ("multipart/form-data", b"--B--\r\n"),
    ("multipart/form-data; boundary=B", b"--B\r\nContent-Disposition: attachment\r\n\r\nv\r\n--B--\r\n"),
])
def test_malformed_multipart_is_400(client, content_type, body):
    assert client.post("/form", content=body, headers={"Content-Type": content_type}).status_code == 400


def test_multipart_upload(client):
    response = client.post("/form", data={"a": "1"}, files={"f": ("x.bin", b"\x00" * 100_000)})
    assert response.json() == {"form": {"a": ["1"]}, "files": {"f": ["x.bin"]}}


def test_head_options_and_405(client):
    head = client.head("/thing")
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == "60"
    options = client.options("/thing")
    assert options.status_code == 204 and options.headers["allow"] == "GET, HEAD, OPTIONS, PUT"
    refused = client.post("/thing")
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD, OPTIONS, PUT"


def test_request_middleware_refuses_a_stream_upload_it_never_reads(client):
    refused = client.post("/upload", content=b"x" * 3_000_000)
    assert (refused.status_code, refused.text) == (403, "no key")
    accepted = client.post("/upload", content=b"x" * 3_000_000, headers={"X-Key": "ok"})
    assert accepted.text == "3000000"  # the connection (or a new one) still works afterwards


def test_proxy_headers_ignored_unless_configured(client):
    spoofed = client.get("/who", headers={"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https"})
    assert spoofed.json() == {"client": "127.0.0.1", "scheme": "http"}


def test_listener_got_app_and_loop(client):
    assert client.app.ctx.events == [("start", True)]


def test_forwarded_for_through_a_trusted_proxy():
    app = Necktie("proxied")
    app.config.PROXIES_COUNT = 1
    app.get("/")(lambda request: json([request.client_ip, request.scheme, request.host]))
    with LiveServer(app) as server, server.raw() as conn:
        conn.send(b"GET / HTTP/1.1\r\nHost: internal\r\nForwarded: for=6.6.6.6, for=192.0.2.60;proto=https;"
                  b"host=shop.example\r\n\r\n")
        assert conn.read_response().body == b'["192.0.2.60","https","shop.example"]'
