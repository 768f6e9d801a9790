"""Faults over loopback (RELIABILITY.md D33–34, F50–F56, and the timeouts of issue 3).

Each test drives a real server with raw sockets and checks the exact bytes a strict client sees.
"""

from __future__ import annotations

import asyncio
import logging
import time

import h11
import pytest
from necktie_testing import LiveServer
from nt_rawhttp import connect, exchange, parse_all, read_answers, read_until_closed, send
from pynecktie import Necktie
from pynecktie.response import HTTPResponse, empty, redirect, stream, text

GET_NEXT = b"GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"


def build_app() -> tuple[Necktie, dict]:
    app = Necktie("faults")
    app.config.update_config({"REQUEST_MAX_SIZE": 1 << 20, "REQUEST_TIMEOUT": 3.0,
                              "REQUEST_BODY_TIMEOUT": 0.5, "KEEP_ALIVE_TIMEOUT": 5.0, "RESPONSE_TIMEOUT": 1.0,
                              "ACCESS_LOG": True})
    state: dict = {"finally": []}

    @app.get("/ok")
    async def ok(request):
        return text("ok")

    @app.get("/raise-after-head-chunked")
    async def raise_chunked(request):
        async def body(response):
            await response.write(b"abc")
            raise RuntimeError("boom after the head")
        return stream(body)

    @app.get("/raise-after-head-length")
    async def raise_length(request):
        async def body(response):
            await response.write(b"abc")
            raise RuntimeError("boom after the head")
        return stream(body, headers={"content-length": "10"})

    @app.route("/raise-before", methods=["GET", "POST"])
    async def raise_before(request):
        raise RuntimeError("boom before the head")

    @app.get("/returns-none")
    async def returns_none(request):
        return None

    @app.post("/stream-raise-early", stream=True)
    async def stream_raise_early(request):
        raise RuntimeError("does not read the body")

    @app.get("/length-too-long")
    async def length_too_long(request):
        async def body(response):
            await response.write(b"0123456789abcdefghij")
        return stream(body, headers={"content-length": "10"})

    @app.get("/length-too-short")
    async def length_too_short(request):
        async def body(response):
            await response.write(b"abc")
        return stream(body, headers={"content-length": "10"})

    @app.get("/inject/<kind>")
    async def inject(request, kind):
        values = {"crlf": ("X-A", "v\r\nSet-Cookie: x=y"), "lf": ("X-A", "v\nX-B: y"),
                  "nul": ("X-A", "v\x00"), "space-name": ("X Y", "v"), "colon-name": ("X:Y", "v"),
                  "cr": ("X-A", "v\rX-B: y")}
        name, value = values[kind]
        return HTTPResponse(b"body", headers={name: value})

    @app.get("/inject-stream")
    async def inject_stream(request):
        async def body(response):
            await response.write(b"never")
        return stream(body, headers={"X-A": "v\r\nX-B: y"})

    @app.get("/cookie-crlf")
    async def cookie_crlf(request):
        response = text("c")
        response.add_cookie("k", "v\r\nX-B: y; Path=/evil")
        return response

    @app.get("/location")
    async def location(request):
        return redirect(request.args.get("to"))

    @app.get("/allowed-values")
    async def allowed_values(request):
        return HTTPResponse(b"ok", headers={"X-Tab": "a\tb", "X-Obs": "café"})

    @app.route("/status/<code:int>", methods=["GET", "HEAD"])
    async def status(request, code):
        return HTTPResponse(b"a body that must not be sent", status=code, headers={"X-Kept": "yes"})

    @app.get("/empty204")
    async def empty204(request):
        return empty()

    @app.route("/head", methods=["GET", "HEAD"])
    async def head(request):
        return text("hello head", headers={"X-Kept": "yes"})

    @app.post("/upload-limit", stream=True)
    async def upload_limit(request):
        total = 0
        while (chunk := await request.stream.get()) is not None:
            total += len(chunk)
        return text(str(total))

    @app.post("/upload-echo", stream=True)
    async def upload_echo(request):
        async def body(response):
            while (chunk := await request.stream.get()) is not None:
                await response.write(chunk[:10])
        return stream(body)

    @app.post("/unlimited", stream=True, max_body_size=None)
    async def unlimited(request):
        total = 0
        while (chunk := await request.stream.get()) is not None:
            total += len(chunk)
        return text(str(total))

    @app.post("/small", stream=True, max_body_size=100)
    async def small(request):
        total = 0
        while (chunk := await request.stream.get()) is not None:
            total += len(chunk)
        return text(str(total))

    @app.post("/per-request", stream=True)
    async def per_request(request):
        request.stream.max_size = int(request.args.get("max"))
        total = 0
        while (chunk := await request.stream.get()) is not None:
            total += len(chunk)
        return text(str(total))

    @app.post("/body-timeout", stream=True)
    async def body_timeout(request):
        try:
            while await request.stream.get() is not None:
                pass
        except Exception as exc:
            state["body_timeout_error"] = type(exc).__name__
            raise
        finally:
            state["finally"].append("body-timeout")
        return text("never")

    @app.get("/slow")
    async def slow(request):
        try:
            await asyncio.sleep(30)
        finally:
            state["finally"].append("slow")
        return text("late")

    @app.get("/slow-stream")
    async def slow_stream(request):
        async def body(response):
            for _ in range(6):
                await asyncio.sleep(0.3)
                await response.write(b"tick ")
        return stream(body)

    return app, state


@pytest.fixture(scope="module")
def live():
    app, state = build_app()
    with LiveServer(app) as server:
        server.state = state
        yield server


def raw_until_closed(port: int, request: bytes, timeout: float = 10.0) -> bytes:
    with connect(port) as sock:
        sock.sendall(request)
        data, closed = read_until_closed(sock, timeout)
    assert closed
    return data


def get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: a\r\n{extra}\r\n".encode()


def test_exception_after_a_chunked_head_closes_without_the_last_chunk(live):
    """F50: no ``0\\r\\n\\r\\n``, one status line, then close."""
    data = raw_until_closed(live.port, get("/raise-after-head-chunked"))
    assert data.count(b"HTTP/1.1 ") == 1
    assert b"transfer-encoding: chunked" in data.lower()
    assert data.endswith(b"3\r\nabc\r\n")
    with pytest.raises(h11.RemoteProtocolError):
        parse_all(data)


def test_exception_after_a_length_head_closes_with_a_short_body(live):
    data = raw_until_closed(live.port, get("/raise-after-head-length"))
    assert data.count(b"HTTP/1.1 ") == 1
    assert data.endswith(b"\r\n\r\nabc")
    with pytest.raises(h11.RemoteProtocolError):
        parse_all(data)


@pytest.mark.parametrize("path", ["/raise-before", "/returns-none"])
def test_exception_before_the_head_is_a_500_and_the_connection_stays_usable(live, path):
    """F51: 500 with Content-Length; the body was fully read, so keep-alive holds."""
    with connect(live.port) as sock:
        sock.sendall(get(path))
        answers, rest, eof = read_answers(sock, 1)
        assert [a.status for a in answers] == [500] and "content-length" in answers[0].headers
        assert not eof
        sock.sendall(GET_NEXT)
        data, closed = read_until_closed(sock)
    assert [a.body for a in parse_all(data)[0]] == [b"ok"]


def test_a_500_before_the_body_was_read_closes(live):
    answers, rest, closed = exchange(live.port, b"POST /stream-raise-early HTTP/1.1\r\nHost: a\r\n"
                                     b"Content-Length: 100000\r\n\r\n" + b"x" * 1000 + GET_NEXT)
    assert [a.status for a in answers] == [500] and answers[0].closes and closed and rest == b""


def test_buffered_post_that_raises_after_reading_its_body_keeps_the_connection(live):
    with connect(live.port) as sock:
        sock.sendall(b"POST /raise-before HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" + GET_NEXT)
        data, closed = read_until_closed(sock)
    answers, rest = parse_all(data)
    assert [a.status for a in answers] == [500, 200] and rest == b""


def test_declared_length_is_never_exceeded(live):
    """F52: CL 10, 20 written → exactly 10 bytes, then close."""
    with connect(live.port) as sock:
        sock.sendall(get("/length-too-long") + GET_NEXT)
        data, closed = read_until_closed(sock)
    answers, rest = parse_all(data)
    assert [(a.status, a.body) for a in answers] == [(200, b"0123456789")] and rest == b"" and closed


def test_declared_length_not_reached_closes(live):
    data = raw_until_closed(live.port, get("/length-too-short") + GET_NEXT)
    assert data.endswith(b"\r\n\r\nabc") and data.count(b"HTTP/1.1 ") == 1


@pytest.mark.parametrize("kind", ["crlf", "lf", "nul", "space-name", "colon-name", "cr"])
def test_header_injection_is_a_500_and_the_header_is_never_written(live, kind):
    """F53: a CR/LF/NUL in a value or a bad name → 500; nothing of it reaches the wire."""
    data = raw_until_closed(live.port, get(f"/inject/{kind}", "Connection: close\r\n"))
    answers, rest = parse_all(data)
    assert [a.status for a in answers] == [500] and rest == b""
    assert b"Set-Cookie" not in data and b"X-B" not in data and b"x=y" not in data and b"body" not in data


def test_header_injection_in_a_streamed_head(live):
    data = raw_until_closed(live.port, get("/inject-stream"))
    answers, rest = parse_all(data)
    assert [a.status for a in answers] == [500] and b"X-B" not in data and b"never" not in data


def test_cookie_and_location_cannot_split_the_response(live):
    for request in (get("/cookie-crlf", "Connection: close\r\n"),
                    get("/location?to=/a%0d%0aX-B:%20y", "Connection: close\r\n")):
        data = raw_until_closed(live.port, request)
        answers, rest = parse_all(data)
        assert len(answers) == 1 and rest == b""
        assert "x-b" not in answers[0].headers
        assert b"\r\nX-B" not in data


def test_tabs_and_obs_text_in_values_are_allowed(live):
    answers, _, _ = exchange(live.port, get("/allowed-values", "Connection: close\r\n"))
    assert answers[0].status == 200
    assert answers[0].headers["x-tab"] == "a\tb" and answers[0].headers["x-obs"] == "café"


@pytest.mark.parametrize("code", [204, 304])
def test_no_body_statuses_drop_the_body_and_framing(live, code):
    """F54: 204/304 → body, Content-Length and Transfer-Encoding dropped; the connection stays usable."""
    with connect(live.port) as sock:
        sock.sendall(get(f"/status/{code}") + GET_NEXT)
        data, _ = read_until_closed(sock)
    head, _, rest = data.partition(b"\r\n\r\n")
    assert b"content-length" not in head.lower() and b"transfer-encoding" not in head.lower()
    assert b"must not be sent" not in data
    answers, tail = parse_all(data)
    assert [a.status for a in answers] == [code, 200] and tail == b""


def test_empty_204(live):
    answers, _, _ = exchange(live.port, get("/empty204", "Connection: close\r\n"))
    assert [(a.status, a.body) for a in answers] == [(204, b"")]


@pytest.mark.parametrize("code", [99, 600, 1000])
def test_invalid_status_is_a_500(live, code):
    answers, rest, _ = exchange(live.port, get(f"/status/{code}", "Connection: close\r\n"))
    assert [a.status for a in answers] == [500] and rest == b""


def test_head_has_the_headers_of_get_and_no_body(live):
    with connect(live.port) as sock:
        sock.sendall(b"HEAD /head HTTP/1.1\r\nHost: a\r\n\r\n" + get("/head", "Connection: close\r\n"))
        data, _ = read_until_closed(sock)
    answers, rest = parse_all(data, ["HEAD", "GET"])
    head, full = answers
    assert head.body == b"" and full.body == b"hello head" and rest == b""
    drop = {"date", "connection"}
    assert {k: v for k, v in head.headers.items() if k not in drop} == \
        {k: v for k, v in full.headers.items() if k not in drop}


def chunked(total: int, size: int = 65536) -> bytes:
    piece = b"%x\r\n%s\r\n" % (size, b"c" * size)
    return piece * (total // size) + b"0\r\n\r\n"


def test_chunked_upload_past_the_limit_is_a_413_and_close(live):
    """D33 and catalogue 32: the handler's get() raises PayloadTooLarge once the count passes 1 MiB."""
    head = b"POST /upload-limit HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    request = head + chunked(2 << 20)
    answers, rest, closed = exchange(live.port, request + GET_NEXT)
    assert [a.status for a in answers] == [413] and answers[0].closes and closed and rest == b""


@pytest.mark.parametrize("path", ["/upload-limit", "/ok-post"])
def test_one_byte_chunks_past_the_limit(path):
    """Catalogue 32: a flood of 1-byte chunks ends with 413 at the decoded limit (stream and buffered)."""
    app, _ = build_app()
    app.config.RESPONSE_TIMEOUT = 0

    @app.post("/ok-post")
    async def ok_post(request):
        return text(str(len(request.body)))

    request = (f"POST {path} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
               + b"1\r\nx\r\n" * ((1 << 20) + 10) + b"0\r\n\r\n")
    with LiveServer(app) as server:
        answers, rest, closed = exchange(server.port, request, timeout=60)
        assert [a.status for a in answers] == [413] and closed
        small = (f"POST {path} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
                 "\r\n").encode() + b"1\r\nx\r\n" * 5000 + b"0\r\n\r\n"
        answers, rest, closed = exchange(server.port, small, timeout=60)
        assert [(a.status, a.body) for a in answers] == [(200, b"5000")]


def test_limit_passed_after_the_response_started_aborts_without_a_second_status(live):
    head = b"POST /upload-echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    request = head + chunked(2 << 20)
    with connect(live.port) as sock:
        send(sock, request)
        data, closed = read_until_closed(sock)
    assert closed and data.count(b"HTTP/1.1 ") == 1 and not data.endswith(b"0\r\n\r\n")


def test_per_route_and_per_request_limits(live):
    body = b"z" * (2 << 20)
    answers, _, _ = exchange(live.port, b"POST /unlimited HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    assert [(a.status, a.body) for a in answers] == [(200, str(len(body)).encode())]
    answers, _, closed = exchange(live.port, b"POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n"
                                  + b"z" * 101)
    assert [a.status for a in answers] == [413] and closed
    answers, _, closed = exchange(live.port, b"POST /small HTTP/1.1\r\nHost: a\r\n"
                                  b"Transfer-Encoding: chunked\r\n\r\n" + chunked(1024, 64))
    assert [a.status for a in answers] == [413] and closed
    answers, _, closed = exchange(live.port, b"POST /per-request?max=10 HTTP/1.1\r\nHost: a\r\n"
                                  b"Content-Length: 11\r\n\r\n" + b"z" * 11)
    assert [a.status for a in answers] == [413] and closed
    answers, _, closed = exchange(live.port, b"POST /per-request?max=100 HTTP/1.1\r\nHost: a\r\n"
                                  b"Content-Length: 101\r\nExpect: 100-continue\r\n\r\n")
    assert [(a.informational, a.status) for a in answers] == [([], 413)] and closed
    answers, _, _ = exchange(live.port, b"POST /unlimited HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n" + chunked(2 << 20))
    assert [(a.status, a.body) for a in answers] == [(200, str(2 << 20).encode())]
    answers, _, _ = exchange(live.port, b"POST /per-request?max=100000000 HTTP/1.1\r\nHost: a\r\n"
                             b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    assert [(a.status, a.body) for a in answers] == [(200, str(len(body)).encode())]


def test_413_from_content_length_is_readable_while_the_client_keeps_sending(live):
    """C23: decided from Content-Length before reading the body; the client still reads the 413."""
    with connect(live.port) as sock:
        sock.sendall(b"POST /upload-limit HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000000\r\n\r\n")
        sent = 0
        sock.settimeout(0.5)
        try:
            while sent < 1 << 20:
                sent += sock.send(b"q" * 65536)
        except (OSError, TimeoutError):
            pass
        data, closed = read_until_closed(sock)
    answers, _ = parse_all(data)
    assert [a.status for a in answers] == [413] and answers[0].informational == []


def test_body_timeout_is_408_and_the_handler_finally_runs(live):
    """D34 over loopback: CL 100, 50 sent, silence."""
    with connect(live.port) as sock:
        sock.sendall(b"POST /body-timeout HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + b"x" * 50)
        data, closed = read_until_closed(sock, timeout=10)
    answers, rest = parse_all(data)
    assert [a.status for a in answers] == [408] and closed
    for _ in range(100):
        if "body-timeout" in live.state["finally"]:
            break
        time.sleep(0.05)
    assert live.state["body_timeout_error"] == "RequestTimeout"


def test_response_timeout_is_503_and_the_handler_is_cancelled(live):
    answers, _, _ = exchange(live.port, get("/slow", "Connection: close\r\n"))
    assert [a.status for a in answers] == [503]
    for _ in range(100):
        if "slow" in live.state["finally"]:
            break
        time.sleep(0.05)
    assert "slow" in live.state["finally"]


def test_response_timeout_does_not_cut_a_stream_under_way(live):
    answers, _, _ = exchange(live.port, get("/slow-stream", "Connection: close\r\n"))
    assert [(a.status, a.body) for a in answers] == [(200, b"tick " * 6)]


def test_response_timeout_streams_cuts_a_stream_when_configured():
    app, _ = build_app()
    app.config.RESPONSE_TIMEOUT = 0.5
    app.config.RESPONSE_TIMEOUT_STREAMS = True
    with LiveServer(app) as server:
        with connect(server.port) as sock:
            sock.sendall(get("/slow-stream"))
            data, closed = read_until_closed(sock)
        assert closed and data.startswith(b"HTTP/1.1 200 ")
        assert not data.endswith(b"0\r\n\r\n") and data.count(b"tick") < 6
        answers, _, _ = exchange(server.port, get("/ok", "Connection: close\r\n"))
        assert answers[0].body == b"ok"


def test_access_log_escapes_control_characters(live, caplog):
    """F55: a path with ESC and CRLF is logged escaped, on one line."""
    with caplog.at_level(logging.INFO, logger="necktie.access"):
        exchange(live.port, get("/%1b[31m%0d%0aFAKE\x1b", "Connection: close\r\n").replace(b"\x1b", b""))
        exchange(live.port, b"GET /\x1b[31m HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        for _ in range(50):
            if any("FAKE" in r.getMessage() for r in caplog.records):
                break
            time.sleep(0.02)
    lines = [r.getMessage() for r in caplog.records if r.name == "necktie.access"]
    assert any("FAKE" in line for line in lines)
    assert all("\x1b" not in line and "\r" not in line and "\n" not in line for line in lines)


def test_a_1xx_status_from_the_application_carries_no_body_or_framing(live):
    """Catalogue 54: a body on a 1xx is dropped with its Content-Length."""
    data = raw_until_closed(live.port, get("/status/103", "Connection: close\r\n"))
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 103 ")
    assert b"content-length" not in head.lower() and b"transfer-encoding" not in head.lower()
    assert b"must not be sent" not in data


def test_access_log_counts_no_body_bytes_for_head(live, caplog):
    """The access line reports what went on the wire: a HEAD answer carries no body."""
    with caplog.at_level(logging.INFO, logger="necktie.access"):
        exchange(live.port, b"HEAD /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", methods=["HEAD"])
        for _ in range(50):
            if any('"HEAD /ok' in r.getMessage() for r in caplog.records):
                break
            time.sleep(0.02)
    access = [r.getMessage() for r in caplog.records if r.name == "necktie.access"]
    (line,) = [message for message in access if '"HEAD /ok' in message]
    assert '" 200 0 ' in line
