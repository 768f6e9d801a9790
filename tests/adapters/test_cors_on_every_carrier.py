"""CORS under necktie-server, uvicorn and granian: raw sockets, responses parsed with h11."""

from __future__ import annotations

import socket
import zlib

import cors_app
import h11
import pytest
from adapter_carriers import HERE, header, request, serving

PAGE = cors_app.PAGE


@pytest.fixture(scope="module")
def served(carrier, tmp_path_factory):
    """`cors_app`, served by *carrier*."""
    with serving(carrier, "cors_app", HERE, tmp_path_factory.mktemp("cors") / "log") as server:
        yield server


def _varies(response: h11.Response) -> list[bytes]:
    return [v.strip() for k, value in response.headers if k == b"vary" for v in value.split(b",")]


def _cors_headers(response: h11.Response) -> dict[bytes, bytes]:
    return {k: v for k, v in response.headers if k.startswith(b"access-control-")}


def test_an_allowed_origin_reads_the_answer(served):
    response, body = request(served.port, "GET", "/items", headers={"Origin": PAGE})
    assert response.status_code == 200 and body == b"items " * 50
    assert _cors_headers(response) == {
        b"access-control-allow-origin": PAGE.encode(),
        b"access-control-allow-credentials": b"true",
        b"access-control-expose-headers": b"X-Total",
    }
    assert _varies(response) == [b"Origin", b"Accept-Encoding"]


def test_a_regex_origin(served):
    response, _ = request(served.port, "GET", "/items", headers={"Origin": "https://partner.example"})
    assert header(response, b"access-control-allow-origin") == b"https://partner.example"
    response, _ = request(served.port, "GET", "/items", headers={"Origin": "https://partner.example.evil"})
    assert header(response, b"access-control-allow-origin") is None


def test_another_origin_gets_no_permission(served):
    response, body = request(served.port, "GET", "/items", headers={"Origin": "http://127.0.0.1:6000"})
    assert response.status_code == 200 and body == b"items " * 50
    assert _cors_headers(response) == {}
    assert _varies(response) == [b"Origin", b"Accept-Encoding"]


def test_no_origin_gets_only_vary(served):
    response, _ = request(served.port, "GET", "/items")
    assert _cors_headers(response) == {} and _varies(response) == [b"Origin", b"Accept-Encoding"]


def test_vary_is_merged_with_compression(served):
    asking = {"Origin": PAGE, "Accept-Encoding": "gzip"}
    response, body = request(served.port, "GET", "/items", headers=asking)
    assert header(response, b"content-encoding") == b"gzip"
    assert [v for k, v in response.headers if k == b"vary"] == [b"Origin, Accept-Encoding"]
    assert header(response, b"access-control-allow-origin") == PAGE.encode()
    assert zlib.decompress(body, 31) == b"items " * 50


def test_a_preflight_is_answered_by_the_framework(served):
    response, body = request(served.port, "OPTIONS", "/items", headers={
        "Origin": PAGE, "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "x-token, content-type"})
    assert response.status_code == 204 and body == b""
    assert _cors_headers(response) == {
        b"access-control-allow-origin": PAGE.encode(),
        b"access-control-allow-credentials": b"true",
        b"access-control-allow-methods": b"GET, HEAD, OPTIONS, PUT",
        b"access-control-allow-headers": b"x-token, content-type",
        b"access-control-max-age": b"600",
    }
    assert _varies(response) == [b"Origin"]


@pytest.mark.parametrize(("headers", "refused"), [
    ({"Origin": "http://127.0.0.1:6000", "Access-Control-Request-Method": "PUT"}, b"origin"),
    ({"Origin": PAGE, "Access-Control-Request-Method": "DELETE"}, b"method"),
    ({"Origin": PAGE, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-other"},
     b"request header"),
])
def test_a_refused_preflight(served, headers, refused):
    response, body = request(served.port, "OPTIONS", "/items", headers=headers)
    assert response.status_code == 403
    assert body == b"CORS preflight refused: " + refused + b" not allowed\n"
    assert _cors_headers(response) == {}


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/missing", 404), ("DELETE", "/items", 405), ("GET", "/boom", 500)])
def test_error_pages_carry_the_headers(served, method, path, status):
    response, _ = request(served.port, method, path, headers={"Origin": PAGE, "Accept": "application/json"})
    assert response.status_code == status
    assert header(response, b"access-control-allow-origin") == PAGE.encode()
    assert header(response, b"access-control-allow-credentials") == b"true"


def test_a_413_at_the_head_carries_them(served):
    """Refused from its declared length before the pipeline runs (by necktie-server, or by the ASGI
    adapter): the carrier's own error page gets the route's headers too."""
    response, _ = request(served.port, "POST", "/upload", body=b"x" * 100, headers={"Origin": PAGE})
    assert response.status_code == 413
    assert header(response, b"access-control-allow-origin") == PAGE.encode()
    assert header(response, b"access-control-allow-credentials") == b"true"


def test_route_and_blueprint_overrides(served):
    response, body = request(served.port, "GET", "/private", headers={"Origin": PAGE})
    assert body == b"private" and _cors_headers(response) == {} and header(response, b"vary") is None
    response, body = request(served.port, "GET", "/public/", headers={"Origin": "https://anyone.example.org"})
    assert body == b"public" and _cors_headers(response) == {b"access-control-allow-origin": b"*",
                                                              b"access-control-expose-headers": b"X-Total"}


def test_a_stream_carries_the_headers_before_its_first_write(served):
    """The head (with the CORS headers) and the first tick arrive while the handler waits for the ack:
    nothing was held back until the end."""
    run = f"{served.carrier}-ticks"
    with socket.create_connection(("127.0.0.1", served.port), timeout=60) as sock:
        sock.sendall(f"GET /ticks?run={run} HTTP/1.1\r\nHost: x\r\nOrigin: {PAGE}\r\n\r\n".encode())
        conn = h11.Connection(h11.CLIENT)
        conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))

        def next_event():
            while (event := conn.next_event()) is h11.NEED_DATA:
                conn.receive_data(sock.recv(65536))
            return event

        response = next_event()
        assert isinstance(response, h11.Response)
        assert header(response, b"access-control-allow-origin") == PAGE.encode()
        assert _varies(response) == [b"Origin", b"Accept-Encoding"]
        text = b""
        for n in range(3):
            while f"tick {n}\n".encode() not in text:
                event = next_event()
                assert isinstance(event, h11.Data), text
                text += event.data
            assert request(served.port, "POST", f"/ack?run={run}")[0].status_code == 200
        assert isinstance(next_event(), h11.EndOfMessage)
