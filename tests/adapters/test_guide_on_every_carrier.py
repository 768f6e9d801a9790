"""The streaming guide's examples, unchanged, under necktie-server, uvicorn and granian: the same tests."""

from __future__ import annotations

import socket

import h11
import pytest
from adapter_carriers import exchange, header


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


def test_chunked_upload_is_streamed_back_chunked(request_streaming):
    raw = (b"POST /stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3\r\n1ab\r\n2\r\n11\r\n0\r\n\r\n")
    response, received = exchange(request_streaming.port, raw)
    assert response.status_code == 200
    assert header(response, b"transfer-encoding") == b"chunked"
    assert received == b"AabAA"


def test_large_upload_arrives_whole_in_order(request_streaming):
    body = b"".join(b"%07d1" % i for i in range(40000))  # 320 KB: many chunks through every carrier
    raw = f"PUT /bp_stream HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    response, received = exchange(request_streaming.port, raw, timeout=60)
    assert response.status_code == 200
    assert received == body.replace(b"1", b"A")


def test_other_method_is_405_and_unknown_path_404(request_streaming):
    response, _ = exchange(request_streaming.port, b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.status_code == 405
    assert header(response, b"allow") == b"OPTIONS, POST"
    response, _ = exchange(request_streaming.port, b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.status_code == 404


def test_full_duplex_answer_arrives_before_the_body_ends(request_streaming):
    """The client reads the echo of its first chunk while its request body is still open."""
    with socket.create_connection(("127.0.0.1", request_streaming.port), timeout=10) as sock:
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
            data = sock.recv(65536)
            assert data
            received += data
        sock.sendall(b"0\r\n\r\n")
        while not received.endswith(b"0\r\n\r\n"):
            data = sock.recv(65536)
            assert data
            received += data


def test_expect_100_continue_before_the_body(request_streaming):
    with socket.create_connection(("127.0.0.1", request_streaming.port), timeout=10) as sock:
        sock.sendall(b"POST /method_view HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):
            data = sock.recv(1)
            assert data
            interim += data
        assert interim.lower() == b"http/1.1 100 continue\r\n\r\n"
        sock.sendall(b"hello")
        final = b""
        while not final.endswith(b"hello"):
            data = sock.recv(65536)
            assert data
            final += data
        assert final.startswith(b"HTTP/1.1 200 OK\r\n")


def test_response_stream_is_chunked_csv(response_streaming):
    response, body = exchange(response_streaming.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.status_code == 200
    assert header(response, b"content-type") == b"text/csv"
    assert header(response, b"transfer-encoding") == b"chunked"
    assert body == b"foo,bar"


def _responses(sock: socket.socket, count: int) -> list[tuple[int, bytes, bytes | None]]:
    """Read *count* responses in a row from one connection: (status, body, Connection header) each."""
    conn = h11.Connection(h11.CLIENT)
    out = []
    for _ in range(count):
        conn.send(h11.Request(method="POST", target="/", headers=[("Host", "x"), ("Content-Length", "0")]))
        conn.send(h11.EndOfMessage())
        status, body, connection = 0, b"", None
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = sock.recv(65536)
                assert data, "the server closed the connection"
                conn.receive_data(data)
            elif isinstance(event, h11.Response):
                status, connection = event.status_code, dict(event.headers).get(b"connection")
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
        out.append((status, body, connection))
        conn.start_next_cycle()
    return out


def test_two_duplex_requests_share_one_connection(request_streaming):
    with socket.create_connection(("127.0.0.1", request_streaming.port), timeout=30) as sock:
        for word in (b"one1", b"two1"):
            sock.sendall(b"POST /stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            sock.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(word), word))
            [(status, body, connection)] = _responses(sock, 1)
            assert (status, body) == (200, word.replace(b"1", b"A"))
            assert connection != b"close"


def test_a_request_pipelined_behind_a_duplex_request_is_answered(request_streaming):
    with socket.create_connection(("127.0.0.1", request_streaming.port), timeout=30) as sock:
        sock.sendall(b"POST /stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"2\r\na1\r\n0\r\n\r\n"
                     b"POST /method_view HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        assert [(s, b) for s, b, _ in _responses(sock, 2)] == [(200, b"aA"), (200, b"hello")]


def test_expect_100_continue_before_a_duplex_answer(request_streaming):
    """/stream starts its response before its first get(): the 100 still comes first."""
    with socket.create_connection(("127.0.0.1", request_streaming.port), timeout=30) as sock:
        sock.sendall(b"POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):
            data = sock.recv(1)
            assert data, "closed before any answer"
            interim += data
        assert interim.lower() == b"http/1.1 100 continue\r\n\r\n"
        sock.sendall(b"a1b1")
        [(status, body, _)] = _responses(sock, 1)
    assert (status, body) == (200, b"aAbA")
