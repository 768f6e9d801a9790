"""The guide's full-duplex route (``/stream`` in examples/request_streaming.py) with real clients' habits:
``Expect: 100-continue`` on a handler that answers before it reads, keep-alive and pipelining after a
duplex exchange, and a handler that leaves a large body unread."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from necktie_testing import LiveServer
from pynecktie.response import stream, text
from test_guide import load

UNREAD = 64 * 1024 * 1024  # far more than the server reads and drops after an answer


def _app(**config):
    app = load("request_streaming").app
    app.config.update_config(config)

    @app.get("/ping")
    async def ping(request):
        return text("pong")

    @app.post("/read-then-stream", stream=True)
    async def read_then_stream(request):
        """Reads a first chunk, then streams its answer while the rest arrives."""
        first = await request.stream.get()

        async def fn(response):
            await response.write(first)
            async for chunk in request.stream:
                await response.write(chunk)
        return stream(fn)

    @app.post("/ignore-body", stream=True)
    async def ignore_body(request):
        """Streams its answer and never reads the request body."""
        async def fn(response):
            await response.write(b"not reading")
        return stream(fn)

    return app


@pytest.fixture(scope="module")
def server():
    with LiveServer(_app()) as live:
        yield live


def _chunked(*pieces: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def test_expect_100_continue_comes_before_the_duplex_answer(server):
    """The handler starts its response before its first get(): the 100 must still come, first."""
    body = b"a1" * 1000
    with server.raw(timeout=30) as raw:
        raw.send(b"POST /stream HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body))
        first = raw.recv_until(b"\r\n\r\n")
        assert first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), first  # waited for before sending the body
        raw.send(body)
        response = raw.read_response("POST")
    assert response.informational == [100]
    assert (response.status, response.body) == (200, b"aA" * 1000)


def test_expect_100_continue_with_curl(server):
    """curl sends Expect: 100-continue for uploads over 1 MiB; its trace shows the 100 arrive."""
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    body = b"x1" * (1536 * 1024)  # 3 MiB
    result = subprocess.run(
        [curl, "-sS", "-v", "--expect100-timeout", "60", "--data-binary", "@-",
         "-H", "Content-Type: application/octet-stream", f"http://127.0.0.1:{server.port}/stream"],
        input=body, capture_output=True, timeout=120, check=True,
    )
    assert b"HTTP/1.1 100 Continue" in result.stderr
    assert b"Done waiting for 100-continue" not in result.stderr  # curl did not give up waiting
    assert result.stdout == body.replace(b"1", b"A")


def test_two_duplex_requests_on_one_connection(server):
    with server.raw(timeout=30) as raw:
        for word in (b"first1", b"second1"):
            raw.send(b"POST /stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            raw.send(b"%x\r\n%s\r\n" % (len(word), word))
            echo = word.replace(b"1", b"A")
            raw.recv_until(echo)  # answered while the request body is still open
            raw.send(b"0\r\n\r\n")
            response = raw.read_response("POST")
            assert (response.status, response.body) == (200, echo)
            assert response.header("connection") is None  # the connection stays open
        assert not raw.eof


def test_a_request_pipelined_behind_a_duplex_request_is_answered(server):
    with server.raw(timeout=30) as raw:
        raw.send(b"POST /stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 + _chunked(b"a1", b"b1") + b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        first = raw.read_response("POST")
        second = raw.read_response("GET")
    assert (first.status, first.body) == (200, b"aAbA")
    assert (second.status, second.body) == (200, b"pong")


def test_a_handler_that_leaves_a_large_body_unread_answers_then_closes(server):
    with server.raw(timeout=30) as raw:
        raw.send(b"POST /ignore-body HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % UNREAD)
        raw.send(b"z" * 65536)
        response = raw.read_response("POST")
        assert (response.status, response.body) == (200, b"not reading")
        raw.recv_all(timeout=30)  # the server ends the connection without waiting for the rest
    assert raw.eof


def test_a_small_unread_body_is_read_and_dropped_and_the_connection_kept(server):
    """What is left of the body fits what the server reads and drops anyway: the next request is served."""
    body = b"q" * (1 << 20)
    with server.raw(timeout=30) as raw:
        raw.send(b"POST /ignore-body HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))
        raw.send(body[:1000])
        first = raw.read_response("POST")  # answered before the body is all sent
        raw.send(body[1000:] + b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        second = raw.read_response("GET")
    assert (first.status, first.body) == (200, b"not reading")
    assert first.header("connection") is None
    assert (second.status, second.body) == (200, b"pong")


def test_a_stalled_rest_of_an_unread_body_times_out_and_closes():
    """The rest being dropped stops coming: REQUEST_BODY_TIMEOUT closes the connection (no hang)."""
    with LiveServer(_app(REQUEST_BODY_TIMEOUT=0.5)) as live, live.raw(timeout=30) as raw:
        raw.send(b"POST /ignore-body HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789")
        response = raw.read_response("POST")
        assert (response.status, response.body) == (200, b"not reading")
        raw.recv_all(timeout=30)
        assert raw.eof


def test_one_100_continue_when_the_handler_reads_before_it_streams(server):
    with server.raw(timeout=30) as raw:
        raw.send(b"POST /read-then-stream HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                 b"Content-Length: 6\r\n\r\n")
        raw.recv_until(b"100 Continue\r\n\r\n")
        raw.send(b"abc")
        raw.recv_until(b"abc")  # the response has started: the rest of the body is still to come
        raw.send(b"def")
        response = raw.read_response("POST")
    assert response.informational == [100]
    assert (response.status, response.body) == (200, b"abcdef")
