"""Timeouts on a fake clock: the head deadline, body between-reads timeout, keep-alive and write timeouts."""

from __future__ import annotations

import asyncio

from nt_mock import Conn
from pynecktie import Necktie
from pynecktie.response import stream, text

TIMEOUTS = {"REQUEST_TIMEOUT": 1.0, "REQUEST_BODY_TIMEOUT": 1.0, "KEEP_ALIVE_TIMEOUT": 2.0,
            "WRITE_TIMEOUT": 1.0, "ACCESS_LOG": False}


def make_app() -> tuple[Necktie, dict[str, object]]:
    app = Necktie("timeouts")
    app.config.update_config(TIMEOUTS)
    seen: dict[str, object] = {"calls": 0, "finally": 0}

    @app.get("/")
    async def index(request):
        seen["calls"] += 1
        return text("ok")

    @app.post("/buffered")
    async def buffered(request):
        seen["calls"] += 1
        return text(str(len(request.body)))

    @app.post("/stream", stream=True)
    async def upload(request):
        seen["calls"] += 1
        total = 0
        try:
            while (chunk := await request.stream.get()) is not None:
                total += len(chunk)
        except Exception as exc:
            seen["error"] = type(exc).__name__
            raise
        finally:
            seen["finally"] += 1
        return text(str(total))

    @app.get("/download")
    async def download(request):
        async def body(response):
            try:
                for _ in range(1000):
                    await response.write(b"x" * 1024)
                    seen["written"] = seen.get("written", 0) + 1
            except BaseException as exc:
                seen["error"] = type(exc).__name__
                raise
            finally:
                seen["finally"] += 1
        return stream(body)

    return app, seen


async def test_head_is_a_deadline_not_reset_by_each_byte():
    """Catalogue 16: a request line, then a byte every 0.4 s: closed at the 1 s head deadline with 408."""
    app, seen = make_app()
    conn = Conn(app)
    conn.feed(b"GET / HTTP/1.1\r\n")
    for _ in range(2):
        await conn.advance(0.4)
        assert not conn.closed
        conn.feed(b"X")
    await conn.advance(0.4)
    assert conn.closed
    answers, rest = conn.answers()
    assert [a.status for a in answers] == [408] and answers[0].closes and rest == b""
    assert seen["calls"] == 0


async def test_idle_connection_closes_quietly_at_keep_alive_timeout():
    app, _ = make_app()
    conn = Conn(app)
    await conn.advance(1.9)
    assert not conn.closed
    await conn.advance(0.2)
    assert conn.closed and conn.transport.data == b""


async def test_keep_alive_timeout_after_a_response():
    app, _ = make_app()
    conn = Conn(app)
    conn.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    await conn.settle()
    written = bytes(conn.transport.data)
    await conn.advance(1.9)
    assert not conn.closed
    await conn.advance(0.2)
    assert conn.closed and bytes(conn.transport.data) == written
    answers, _ = conn.answers()
    assert [a.status for a in answers] == [200]


async def test_an_idle_connection_drops_its_parser_and_keeps_its_keep_alive_time():
    """Idle past ``idle_wait`` (the first part of the keep-alive wait), a connection holds no parser (most of
    an idle connection's memory); the next request makes one, and the keep-alive time is the same in all."""
    app, seen = make_app()
    conn = Conn(app)
    assert conn.protocol.parser is None  # nothing read yet: none made
    conn.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    await conn.settle()
    assert conn.protocol.parser is not None
    await conn.advance(0.5)  # past idle_wait (with the timer wheel's tick)
    assert conn.protocol.parser is None and not conn.closed
    conn.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")  # answered with a parser made for it
    await conn.settle()
    assert [a.status for a in conn.answers()[0]] == [200, 200] and seen["calls"] == 2
    await conn.advance(0.5)
    assert conn.protocol.parser is None
    await conn.advance(1.3)  # 1.8 s after the second answer: still within the 2 s keep-alive
    assert not conn.closed
    await conn.advance(0.4)
    assert conn.closed


async def test_a_request_split_around_the_idle_wait_is_parsed_whole():
    """A head begun before ``idle_wait`` runs out keeps its parser: the head deadline runs, not the idle
    one."""
    app, seen = make_app()
    conn = Conn(app)
    conn.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    await conn.settle()
    conn.feed(b"GET / HTTP/1.1\r\n")
    await conn.advance(0.5)
    assert conn.protocol.parser is not None and not conn.closed
    conn.feed(b"Host: a\r\n\r\n")
    await conn.settle()
    assert [a.status for a in conn.answers()[0]] == [200, 200] and seen["calls"] == 2


async def test_a_keep_alive_shorter_than_the_idle_wait_still_closes_on_time():
    app, _ = make_app()
    app.config.KEEP_ALIVE_TIMEOUT = 0.1
    conn = Conn(app)
    conn.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    await conn.settle()
    await conn.advance(0.3)  # 0.1 s and the wheel's tick
    assert conn.closed


async def test_partial_request_line_switches_to_the_head_deadline():
    """Catalogue 42: after idling, the first byte of a request starts the (shorter, here) head deadline."""
    app, _ = make_app()
    app.config.KEEP_ALIVE_TIMEOUT = 2.0
    app.config.REQUEST_TIMEOUT = 1.0
    conn = Conn(app)
    await conn.advance(1.5)
    conn.feed(b"GE")
    await conn.advance(0.9)  # past the keep-alive time, within the head deadline
    assert not conn.closed
    await conn.advance(0.2)
    assert conn.closed
    assert [a.status for a in conn.answers()[0]] == [408]


async def test_head_deadline_longer_than_keep_alive():
    app, _ = make_app()
    app.config.KEEP_ALIVE_TIMEOUT = 0.5
    app.config.REQUEST_TIMEOUT = 3.0
    conn = Conn(app)
    conn.feed(b"GET / HTTP/1.1\r\n")
    await conn.advance(2.5)
    assert not conn.closed
    conn.feed(b"Host: a\r\n\r\n")
    await conn.settle()
    assert [a.status for a in conn.answers()[0]] == [200]


async def test_body_timeout_between_reads_then_408_and_finally_runs():
    """Catalogue 34: CL 100, 50 sent, silence → get() raises, finally runs, 408 and close."""
    app, seen = make_app()
    conn = Conn(app)
    conn.feed(b"POST /stream HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + b"x" * 50)
    await conn.settle()
    for _ in range(3):  # each read restarts the between-reads timer
        await conn.advance(0.8)
        assert not conn.closed
        conn.feed(b"y" * 10)
        await conn.settle()
    await conn.advance(1.1)
    assert conn.closed
    assert seen["error"] == "RequestTimeout" and seen["finally"] == 1
    answers, rest = conn.answers()
    assert [a.status for a in answers] == [408] and answers[0].closes and rest == b""


async def test_body_timeout_for_a_buffered_route_never_calls_the_handler():
    app, seen = make_app()
    conn = Conn(app)
    conn.feed(b"POST /buffered HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + b"x" * 50)
    await conn.advance(1.1)
    assert conn.closed and seen["calls"] == 0
    assert [a.status for a in conn.answers()[0]] == [408]


async def test_body_timeout_for_a_chunked_body():
    app, seen = make_app()
    conn = Conn(app)
    conn.feed(b"POST /buffered HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
    await conn.advance(1.1)
    assert conn.closed and seen["calls"] == 0
    assert [a.status for a in conn.answers()[0]] == [408]


async def test_write_timeout_aborts_a_client_that_stopped_reading():
    """Catalogue 49 (on the mock): a paused transport stalls the handler in write(), then aborts it."""
    app, seen = make_app()
    conn = Conn(app)
    conn.protocol.pause_writing()
    conn.feed(b"GET /download HTTP/1.1\r\nHost: a\r\n\r\n")
    await conn.settle()
    written = seen.get("written", 0)
    await conn.advance(0.9)
    assert seen.get("written", 0) <= written + 1, "the handler kept writing into a full transport"
    assert not conn.closed
    await conn.advance(0.2)
    assert conn.transport.aborted
    await conn.settle()
    assert seen["finally"] == 1 and seen["error"] in ("ConnectionClosed", "CancelledError")


async def test_awaited_write_resumes_when_the_transport_drains():
    app, seen = make_app()
    conn = Conn(app)
    conn.feed(b"GET /download HTTP/1.1\r\nHost: a\r\n\r\n")
    conn.protocol.pause_writing()
    await conn.settle()
    stalled = seen.get("written", 0)
    await conn.settle()
    assert seen.get("written", 0) == stalled
    conn.protocol.resume_writing()
    for _ in range(100):
        await conn.settle()
        if seen["finally"]:
            break
    assert seen.get("written") == 1000 and "error" not in seen
    answers, _ = conn.answers()
    assert answers[0].status == 200 and answers[0].body == b"x" * 1024 * 1000


async def test_no_timer_is_left_after_close():
    app, _ = make_app()
    conn = Conn(app)
    conn.feed(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    await conn.settle()
    assert conn.closed
    assert conn.clock.pending == 0
    await asyncio.sleep(0)


async def test_an_error_with_input_still_coming_half_closes_then_drops_input_then_closes():
    """Lingering close: 413 from Content-Length goes out with a FIN; what follows is read and dropped."""
    app, seen = make_app()
    app.config.REQUEST_MAX_SIZE = 10
    conn = Conn(app)
    conn.feed(b"POST /buffered HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" + b"x" * 100)
    await conn.settle()
    assert conn.transport.eof_written and not conn.transport.closed and conn.transport.reading
    answers, _ = conn.answers()
    assert [a.status for a in answers] == [413] and answers[0].closes
    written = bytes(conn.transport.data)
    conn.feed(b"y" * 500 + b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    await conn.settle()
    assert bytes(conn.transport.data) == written and not conn.transport.closed and seen["calls"] == 0
    await conn.advance(2.5)
    assert conn.transport.closed


async def test_lingering_ends_at_the_clients_fin():
    app, _ = make_app()
    conn = Conn(app)
    conn.feed(b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n")
    await conn.settle()
    assert conn.transport.eof_written and not conn.transport.closed
    assert conn.protocol.eof_received() is None  # the transport then closes itself
