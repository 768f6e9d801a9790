"""The streaming guide's examples, served by the real server and driven through the test client.

Where the wire itself is the point (``Expect: 100-continue``, HTTP/1.0), a raw connection is used.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from necktie_testing import LiveServer, TestClient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def request_streaming():
    with LiveServer(load("request_streaming").app) as server:
        yield server


@pytest.fixture(scope="module")
def response_streaming():
    with LiveServer(load("response_streaming").app) as server:
        yield server


@pytest.fixture
def client(request_streaming):
    with TestClient(request_streaming.app, server=request_streaming) as client:
        yield client


@pytest.mark.parametrize(("method", "path", "body", "expected"), [
    ("POST", "/stream", b"a1b1c1", b"aAbAcA"),
    ("POST", "/method_view", b"hello 1", b"hello 1"),
    ("PUT", "/bp_stream", b"x1y", b"xAy"),
    ("POST", "/composition_view", b"comp 1", b"comp 1"),
])
def test_stream_routes_answer_with_their_body(client, method, path, body, expected):
    response = client.request(method, path, content=body)
    assert response.status_code == 200
    assert response.content == expected


def test_chunked_upload_reaches_stream_route(client):
    response = client.post("/stream", content=iter([b"1ab", b"11"]))
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 200
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.content == b"AabAA"


def test_stream_route_with_other_method_is_405_and_unknown_path_404(client):
    response = client.get("/stream")
    assert response.status_code == 405
    assert response.headers["allow"] == "OPTIONS, POST"
    assert client.get("/nowhere").status_code == 404


def test_full_duplex_answer_arrives_before_the_body_ends(client):
    """The client reads the echo of its first chunk while the request body is still open."""
    with client.duplex("POST", "/stream") as duplex:
        duplex.send(b"1111")
        assert duplex.receive_until(b"AAAA") == b"AAAA"
        assert duplex.response.status_code == 200
        duplex.send(b"x1")
        assert duplex.receive_until(b"xA") == b"xA"
        assert duplex.receive_all() == b""


def test_expect_100_continue_before_the_body(request_streaming):
    with request_streaming.raw(timeout=5) as raw:
        raw.send(b"POST /method_view HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                 b"Expect: 100-continue\r\n\r\n")
        assert raw.recv_until(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        raw.send(b"hello")
        response = raw.read_response("POST")
    assert response.informational == [100]
    assert (response.status, response.body) == (200, b"hello")


def test_response_stream_is_chunked_csv(response_streaming):
    with TestClient(response_streaming.app, server=response_streaming) as client:
        response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv"
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.content == b"foo,bar"


def test_http10_stream_ends_by_closing(response_streaming):
    with response_streaming.raw(timeout=5) as raw:
        raw.send(b"GET / HTTP/1.0\r\n\r\n")
        data = raw.recv_all()
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in head.lower()
    assert b"connection: close" in head.lower()
    assert body == b"foo,bar"
