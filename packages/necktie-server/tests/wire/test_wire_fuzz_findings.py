"""What the fuzz targets (tests/fuzz) found, each as a loopback test of its own.

Memory kept far beyond what a request needs (measured on the server, in a thread of this process, while a
real socket sends the input), and a request whose answer could not be built, leaving its connection open
and unanswered for good.
"""

from __future__ import annotations

import gc
import tracemalloc

import pytest
from necktie_testing import LiveServer
from nt_rawhttp import connect, parse_all, read_answers, read_until_closed
from pynecktie import Necktie
from pynecktie.exceptions import NecktieException
from pynecktie.request import Request
from pynecktie.response import raw


def make_app() -> Necktie:
    app = Necktie("fuzz-findings")
    app.config.update_config({"ACCESS_LOG": False, "REQUEST_BUFFER_SIZE": 1 << 16,
                              "PIPELINE_MAX_REQUESTS": 8})

    @app.post("/collect", stream=True)
    async def collect(request):
        return raw(b"%d" % len(await request.stream.read()))

    @app.get("/broken-error")
    async def broken_error(request):
        raise UnrenderableError("its answer cannot be built")

    return app


class UnrenderableError(NecktieException):
    """An error whose own response fails to build (a bug in an app's exception class)."""

    def to_response(self):
        raise RuntimeError("broken to_response")


def test_answered_404s_are_freed_at_once_not_by_the_collector():
    """Fuzz finding: a request routed nowhere kept its 404 error with the traceback in ``match_info``; the
    traceback's frames held the request (and the bytes being parsed), a cycle only a full collection
    breaks. 300 pipelined 404s left 300 requests (and their reads) alive: 7 MB for 35 KB of input."""
    with LiveServer(make_app()) as server, connect(server.port) as sock:
        request = b"GET /missing HTTP/1.1\r\nHost: a\r\n\r\n"
        gc.collect()
        gc.disable()  # what is freed now is freed by reference counting, as the server needs it to be
        try:
            sock.sendall(request * 300)
            answers, _, _ = read_answers(sock, 300, timeout=30)
            alive = sum(1 for o in gc.get_objects() if type(o) is Request)
        finally:
            gc.enable()
    assert [a.status for a in answers] == [404] * 300
    assert alive < 10, f"{alive} requests still alive after their 404s were sent"


def test_stream_route_requests_are_freed_at_once_not_by_the_collector():
    """Fuzz finding: a request and its ``RequestStream`` referred to each other, so every request to a
    stream route (with its body buffer, and what the handler left unread in it) lived until the cyclic
    collector ran; one promoted to the oldest generation waits for a full collection."""
    with LiveServer(make_app()) as server, connect(server.port) as sock:
        request = b"POST /collect HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
        gc.collect()
        gc.disable()
        try:
            sock.sendall(request * 200)
            answers, _, _ = read_answers(sock, 200, ["POST"] * 200, timeout=30)
            alive = sum(1 for o in gc.get_objects() if type(o) is Request)
        finally:
            gc.enable()
    assert [(a.status, a.body) for a in answers] == [(200, b"3")] * 200
    assert alive < 10, f"{alive} requests still alive after their answers were sent"


def test_reading_a_body_of_one_byte_chunks_costs_its_size_not_an_object_per_chunk():
    """Fuzz finding: ``stream.read()`` kept every chunk in a list before joining them, ~40 bytes of
    overhead per chunk, so a body of one-byte chunks cost 40 times its size (4 GB for a 100 MB body)."""
    chunks = 60_000
    body = b"POST /collect HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1\r\nx\r\n" * chunks
    body += b"0\r\n\r\n"
    with LiveServer(make_app()) as server, connect(server.port) as sock:
        tracemalloc.start()
        try:
            sock.sendall(body)
            answers, _, _ = read_answers(sock, 1, ["POST"], timeout=60)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert [(a.status, a.body) for a in answers] == [(200, b"%d" % chunks)]
    # A list of 60,000 one-byte objects alone is over 2 MiB; the buffer and one joined copy are well under.
    assert peak < 1 << 20, f"reading a {chunks}-byte body peaked at {peak >> 10} KiB"


@pytest.mark.parametrize("accept", ["text/plain", "application/json", "text/html"])
def test_a_path_that_is_not_utf8_gets_its_404(accept):
    """Fuzz finding: ``/%ec`` decodes to a lone surrogate; the 404 page quoting the path failed to encode
    (text, JSON and HTML alike), the request's task died with the error, and the connection stayed open
    with nothing sent, past every timeout."""
    app = make_app()
    app.config.KEEP_ALIVE_TIMEOUT = 1
    with LiveServer(app) as server, connect(server.port) as sock:
        sock.sendall(b"GET /%ff%ec HTTP/1.1\r\nHost: a\r\nAccept: " + accept.encode() + b"\r\n\r\n")
        data, closed = read_until_closed(sock, timeout=15)
    answers, rest = parse_all(data)
    assert [a.status for a in answers] == [404] and rest == b""
    assert answers[0].headers["content-type"].startswith(accept)
    assert closed, "the keep-alive timeout (1 s) did not close the connection"


def test_a_request_whose_error_answer_cannot_be_built_does_not_hang_its_connection():
    """Fuzz finding: an error whose own answer could not be built killed the request's task with nothing
    sent and no timer armed, so the connection stayed open for good. The pipeline now answers a plain 500
    (app.handle() never raises but for cancellation), and the connection then closes at its keep-alive
    timeout."""
    app = make_app()
    app.config.KEEP_ALIVE_TIMEOUT = 1
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = 1  # the hung request would hold the server's stop for 15 s
    with LiveServer(app) as server, connect(server.port) as sock:
        sock.sendall(b"GET /broken-error HTTP/1.1\r\nHost: a\r\n\r\n")
        data, closed = read_until_closed(sock, timeout=6)
    answers, rest = parse_all(data)
    assert closed, "the connection was left open and unanswered"
    assert [a.status for a in answers] == [500] and rest == b""
