"""HTTP/2 request semantics over loopback, frame by frame (`nt_h2`): limits answered on their stream while
the connection goes on, a response larger than the client's windows, trailers, ``100 Continue``, a handler
failing mid-stream, the preface split across reads, idle and graceful closes, the access log."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import threading
import time

import pytest
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import DataReceived, InformationalResponseReceived
from necktie_server.errors import StartupError
from necktie_server.tls import offer_http2
from necktie_testing import LiveServer
from nt_h2 import H2Client
from pynecktie import Necktie
from pynecktie.response import stream, text

NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR = 0, 1, 2


def build_app(**config: object) -> tuple[Necktie, dict]:
    app = Necktie("h2semantics")
    app.config.update_config({"HTTP2": True, "RESPONSE_TIMEOUT": 0, "REQUEST_MAX_SIZE": 1000,
                              "REQUEST_MAX_HEADER_SIZE": 2048, **config})
    state: dict = {"release": threading.Event()}

    @app.get("/ok")
    async def ok(request):
        return text("ok")

    @app.get("/big")
    async def big(request):
        return text("z" * 300_000)  # several of the client's windows

    @app.post("/count", stream=True)
    async def count(request):
        total = 0
        async for chunk in request.stream:
            total += len(chunk)
        return text(str(total))

    @app.post("/buffered")
    async def buffered(request):
        return text(str(len(request.body)))

    @app.get("/fails")
    async def fails(request):
        async def body(response):
            await response.write(b"first")
            raise RuntimeError("the handler breaks mid-stream")

        return stream(body)

    @app.get("/wait")
    async def wait(request):
        while not state["release"].is_set():
            await asyncio.sleep(0.02)
        return text("done")

    return app, state


@pytest.fixture
def served():
    app, state = build_app()
    with LiveServer(app) as server:
        yield server, state


def test_a_header_list_over_the_limit_is_a_431_on_its_stream_only(served):
    server, _ = served
    with H2Client(server.port) as client:
        big = client.request("GET", "/ok", headers=[(b"x-big", b"v" * 3000)])
        client.until(lambda: client.ended(big))
        assert client.status(big) == 431
        ok = client.request("GET", "/ok")
        client.until(lambda: client.ended(ok))
        assert client.body(ok) == b"ok"
        assert client.goaway() is None


def test_a_body_over_the_limit_is_a_413_and_the_rest_is_refused_with_no_error(served):
    server, _ = served
    with H2Client(server.port) as client:
        declared = client.request("POST", "/buffered", end=False, headers=[(b"content-length", b"5000")])
        client.until(lambda: client.ended(declared))
        assert client.status(declared) == 413
        client.until(lambda: client.was_reset(declared) is not None)
        assert client.was_reset(declared) == NO_ERROR  # RFC 9113 §8.1: stop sending, no error
        streamed = client.request("POST", "/count", body=b"x" * 1500)  # no length declared
        client.until(lambda: client.ended(streamed))
        assert client.status(streamed) == 413
        ok = client.request("POST", "/buffered", body=b"y" * 1000)
        client.until(lambda: client.ended(ok))
        assert client.body(ok) == b"1000"


def test_a_413_at_the_head_carries_the_cors_headers():
    app, _ = build_app(CORS_ORIGINS=["https://page.example"])
    with LiveServer(app) as server, H2Client(server.port) as client:
        sid = client.request("POST", "/buffered", end=False, headers=[
            (b"content-length", b"5000"), (b"origin", b"https://page.example")])
        client.until(lambda: client.ended(sid))
        assert client.status(sid) == 413
        assert client.header(sid, b"access-control-allow-origin") == b"https://page.example"


def test_a_response_larger_than_the_windows_arrives_whole(served):
    server, _ = served
    with H2Client(server.port) as client:
        first, second = client.request("GET", "/big"), client.request("GET", "/big")
        client.until(lambda: client.ended(first) and client.ended(second))
        assert client.body(first) == client.body(second) == b"z" * 300_000


def test_request_trailers_are_read_and_dropped(served):
    server, _ = served
    with H2Client(server.port) as client:
        sid = client.request("POST", "/count", body=b"abc", end=False, headers=[(b"te", b"trailers")])
        client.conn.send_headers(sid, [(b"x-checksum", b"1234")], end_stream=True)
        client.flush()
        client.until(lambda: client.ended(sid))
        assert (client.status(sid), client.body(sid)) == (200, b"3")


def test_expect_100_continue_is_answered_when_the_handler_reads(served):
    server, _ = served
    with H2Client(server.port) as client:
        sid = client.request("POST", "/count", end=False, headers=[(b"expect", b"100-continue")])
        client.until(lambda: any(isinstance(e, InformationalResponseReceived) for e in client.events))
        client.send(sid, b"12345", end=True)
        client.until(lambda: client.ended(sid))
        assert client.body(sid) == b"5"


def test_a_handler_failing_mid_stream_resets_its_stream_only(served):
    server, _ = served
    with H2Client(server.port) as client:
        broken = client.request("GET", "/fails")
        client.until(lambda: client.was_reset(broken) is not None)
        assert client.was_reset(broken) == INTERNAL_ERROR
        assert client.body(broken) == b"first"
        ok = client.request("GET", "/ok")
        client.until(lambda: client.ended(ok))
        assert client.status(ok) == 200


def test_the_preface_may_come_in_pieces(served):
    server, _ = served
    conn = H2Connection(H2Configuration(client_side=True, header_encoding=None))
    conn.initiate_connection()
    conn.send_headers(1, [(b":method", b"GET"), (b":path", b"/ok"), (b":scheme", b"http"),
                          (b":authority", b"a")], end_stream=True)
    data = conn.data_to_send()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for piece in (data[:3], data[3:16], data[16:20], data[20:]):
            sock.sendall(piece)
            time.sleep(0.05)  # separate reads, most likely (the test holds either way)
        received: list = []
        deadline = time.monotonic() + 20
        while not any(isinstance(e, DataReceived) and e.data == b"ok" for e in received):
            assert time.monotonic() < deadline, received
            received += conn.receive_data(sock.recv(65536))


def test_an_idle_connection_is_closed_with_goaway_no_error():
    app, _ = build_app(KEEP_ALIVE_TIMEOUT=0.2)
    with LiveServer(app) as server, H2Client(server.port) as client:
        ok = client.request("GET", "/ok")
        client.until(lambda: client.ended(ok))
        client.until(lambda: client.goaway() is not None)
        assert client.goaway() == NO_ERROR
        client.until(lambda: not client.pump())  # then the close


def test_graceful_shutdown_lets_the_stream_in_progress_finish():
    app, state = build_app()
    server = LiveServer(app).start()
    try:
        with H2Client(server.port) as client:
            sid = client.request("GET", "/wait")
            client.pump()
            stopping = threading.Thread(target=server.stop)
            stopping.start()
            client.until(lambda: client.goaway() is not None)
            assert client.goaway() == NO_ERROR
            state["release"].set()
            client.until(lambda: client.ended(sid))
            assert client.body(sid) == b"done"
            stopping.join(30)
    finally:
        state["release"].set()
        server.stop()


def test_the_access_log_says_http2(served, caplog):
    server, _ = served
    with caplog.at_level(logging.INFO, logger="necktie.access"), H2Client(server.port) as client:
        ok = client.request("GET", "/ok")
        client.until(lambda: client.ended(ok))
        client.until(lambda: any("HTTP/2" in r.getMessage() for r in caplog.records))
    assert '"GET /ok HTTP/2" 200 2' in "\n".join(r.getMessage() for r in caplog.records)


def test_http2_without_the_h2_package_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "h2", None)  # what an import of a missing package does
    with pytest.raises(StartupError, match=r"pip install 'necktie-server\[http2\]'"):
        offer_http2(None)


@pytest.mark.parametrize("head", [
    [(b":method", b"GET"), (b":path", b"/a b")],
    [(b":method", b"GET"), (b":path", "/caf\u00e9".encode())],
    [(b":method", b"GET"), (b":path", b"relative")],
    [(b":method", b"G(T"), (b":path", b"/ok")],
    [(b":method", b"CONNECT")],  # (no :path nor :scheme: RFC 9113 §8.5)
    # Malformed header lists (RFC 9113 §8.2-8.3): h2 would end the whole connection for each.
    [(b":method", b"GET"), (b":path", b"/ok"), (b"X-Upper", b"v")],
    [(b":method", b"GET"), (b":path", b"/ok"), (b"connection", b"close")],
    [(b":method", b"GET"), (b":path", b"/ok"), (b"te", b"gzip")],
    [(b":method", b"GET"), (b":path", b"/ok"), (b"x-value", b"a\x00b")],
    [(b":method", b"GET"), (b":path", b"/ok"), (b"x-value", b" padded")],
    [(b":method", b"GET"), (b"x-first", b"v"), (b":path", b"/ok")],
    [(b":method", b"GET"), (b":method", b"GET"), (b":path", b"/ok")],
    [(b":method", b"GET"), (b":path", b"/ok"), (b":status", b"200")],
    [(b":method", b"GET")],
    [(b":method", b"GET"), (b":path", b"/ok"), (b"host", b"elsewhere")],
])
def test_a_request_line_http1_would_refuse_is_a_400_on_its_stream(served, head):
    server, _ = served
    with H2Client(server.port) as client:
        bad = client.conn.get_next_available_stream_id()
        scheme = [] if head[0][1] == b"CONNECT" else [(b":scheme", b"http")]
        client.conn.send_headers(bad, [*head, *scheme, (b":authority", b"a:80")], end_stream=True)
        client.flush()
        client.until(lambda: client.ended(bad))
        assert client.status(bad) == 400
        ok = client.request("GET", "/ok")
        client.until(lambda: client.ended(ok))
        assert client.body(ok) == b"ok"
