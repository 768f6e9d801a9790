"""The streaming guide's examples, served by the real server and driven over loopback sockets."""

from __future__ import annotations

import importlib.util
import socket
import sys
import time
from pathlib import Path

import h11
import pytest

from necktie_testing import LiveServer

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


def exchange(port: int, raw: bytes, timeout: float = 5.0) -> tuple[h11.Response, bytes]:
    """Send raw bytes, parse one response with h11."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        conn = h11.Connection(h11.CLIENT)
        conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))  # prime h11's state
        response, body = None, b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(sock.recv(65536))
                continue
            if isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                return response, body


@pytest.mark.parametrize(("method", "path", "body", "expected"), [
    ("POST", "/stream", b"a1b1c1", b"aAbAcA"),
    ("POST", "/method_view", b"hello 1", b"hello 1"),
    ("PUT", "/bp_stream", b"x1y", b"xAy"),
    ("POST", "/composition_view", b"comp 1", b"comp 1"),
])
def test_stream_routes_answer_with_their_body(request_streaming, method, path, body, expected):
    raw = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    response, received = exchange(request_streaming.port, raw)
    assert response.status_code == 200
    assert received == expected


def test_chunked_upload_reaches_stream_route(request_streaming):
    raw = (b"POST /stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3\r\n1ab\r\n2\r\n11\r\n0\r\n\r\n")
    response, received = exchange(request_streaming.port, raw)
    assert response.status_code == 200
    assert (b"transfer-encoding", b"chunked") in response.headers
    assert received == b"AabAA"


def test_stream_route_with_other_method_is_405_and_unknown_path_404(request_streaming):
    response, _ = exchange(request_streaming.port, b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.status_code == 405
    assert dict(response.headers)[b"allow"] == b"OPTIONS, POST"
    response, _ = exchange(request_streaming.port, b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.status_code == 404


def test_full_duplex_answer_arrives_before_the_body_ends(request_streaming):
    """The client reads the echo of its first chunk while the request body is still open."""
    with socket.create_connection(("127.0.0.1", request_streaming.port), timeout=5) as sock:
        sock.sendall(b"POST /stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        sock.sendall(b"4\r\n1111\r\n")
        received = b""
        while b"AAAA" not in received:
            data = sock.recv(65536)
            assert data, "server closed before echoing the first chunk"
            received += data
        assert received.startswith(b"HTTP/1.1 200 OK\r\n")
        sock.sendall(b"2\r\nx1\r\n")
        while b"xA" not in received:
            received += sock.recv(65536)
        sock.sendall(b"0\r\n\r\n")
        while not received.endswith(b"0\r\n\r\n"):
            data = sock.recv(65536)
            assert data
            received += data


def test_expect_100_continue_before_the_body(request_streaming):
    with socket.create_connection(("127.0.0.1", request_streaming.port), timeout=5) as sock:
        sock.sendall(b"POST /method_view HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        interim = sock.recv(65536)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        final = b""
        while not final.endswith(b"hello"):
            final += sock.recv(65536)
        assert final.startswith(b"HTTP/1.1 200 OK\r\n")


def test_response_stream_is_chunked_csv(response_streaming):
    response, body = exchange(response_streaming.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    headers = dict(response.headers)
    assert response.status_code == 200
    assert headers[b"content-type"] == b"text/csv"
    assert headers[b"transfer-encoding"] == b"chunked"
    assert body == b"foo,bar"


def test_http10_stream_ends_by_closing(response_streaming):
    with socket.create_connection(("127.0.0.1", response_streaming.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in head.lower()
    assert b"connection: close" in head.lower()
    assert body == b"foo,bar"
