"""Flow control, pipelining, 100-continue and disconnects, on a mock transport."""

from __future__ import annotations

import asyncio
import sys

import pytest
from nt_mock import Conn
from pynecktie import Necktie
from pynecktie.response import stream, text

BUFFER = 256 * 1024
PIECE = 64 * 1024


def make_app() -> tuple[Necktie, dict[str, object]]:
    app = Necktie("flow")
    app.config.update_config({"REQUEST_BUFFER_SIZE": BUFFER, "PIPELINE_MAX_REQUESTS": 16, "ACCESS_LOG": False,
                              "REQUEST_MAX_SIZE": 1 << 30})
    state: dict[str, object] = {"go": asyncio.Event(), "finally": 0, "order": [], "chunks": []}

    @app.get("/n/<n:int>")
    async def numbered(request, n):
        state["order"].append(n)
        return text(str(n))

    @app.get("/w/<n:int>")
    async def waits(request, n):
        await asyncio.sleep(0)  # (so its task is still running when the next requests are parsed)
        state["order"].append(n)
        return text(str(n))

    @app.post("/sleepy", stream=True)
    async def sleepy(request):
        await state["go"].wait()
        total = 0
        try:
            while (chunk := await request.stream.get()) is not None:
                total += len(chunk)
                state["chunks"].append(chunk)
        except BaseException as exc:
            state["error"] = type(exc).__name__
            raise
        finally:
            state["finally"] += 1
        return text(str(total))

    @app.post("/buffered")
    async def buffered(request):
        return text(str(len(request.body)))

    @app.get("/unawaited")
    async def unawaited(request):
        async def body(response):
            for part in (b"one ", b"two ", b"three"):
                response.write(part)
        return stream(body)

    @app.get("/endless")
    async def endless(request):
        async def body(response):
            try:
                while True:
                    await response.write(b"z" * 4096)
                    await asyncio.sleep(0)
            except BaseException as exc:
                state["error"] = type(exc).__name__
                raise
            finally:
                state["finally"] += 1
        return stream(body)

    return app, state


async def test_upload_pauses_reading_when_the_buffer_is_full_and_resumes_when_drained():
    app, state = make_app()
    conn = Conn(app)
    total = 8 * 1024 * 1024
    conn.feed(b"POST /sleepy HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % total)
    fed = 0
    while conn.transport.reading and fed < total:
        conn.feed(b"u" * PIECE)
        fed += PIECE
        await conn.settle(2)
    assert not conn.transport.reading, "reading never paused"
    assert fed <= BUFFER + 2 * PIECE
    held = conn.protocol._unparsed
    assert len(held) <= PIECE
    state["go"].set()
    while fed < total:
        await conn.settle(5)
        if conn.transport.reading:
            conn.feed(b"u" * PIECE)
            fed += PIECE
    await conn.settle()
    answers, _ = conn.answers()
    assert [(a.status, a.body) for a in answers] == [(200, str(total).encode())]
    assert conn.transport.reading and conn.transport.pauses >= 1


@pytest.mark.parametrize("route", ["w", "n"])
async def test_many_pipelined_requests_are_parsed_a_window_at_a_time_and_all_answered_in_order(route):
    """Catalogue 37: 1,000 pipelined GETs → at most a window is parsed, all answered in order. With
    handlers that wait (``w``), reading pauses; with handlers that never wait (``n``), Python 3.12+ may
    answer each as it is parsed (its task started eagerly), so no backlog forms."""
    app, state = make_app()
    conn = Conn(app)
    conn.feed(b"".join(b"GET /%s/%d HTTP/1.1\r\nHost: a\r\n\r\n" % (route.encode(), i) for i in range(1000)))
    assert len(conn.protocol.cycles) <= 17 + 4096 // 18
    if route == "w" or sys.version_info < (3, 12):
        assert not conn.transport.reading
    for _ in range(2000):
        await conn.settle(5)
        if len(state["order"]) == 1000:
            break
    assert state["order"] == list(range(1000))
    answers, rest = conn.answers()
    assert [a.body for a in answers] == [str(i).encode() for i in range(1000)] and rest == b""
    assert conn.transport.reading and not conn.closed


async def test_requests_behind_a_streaming_one_wait_without_being_buffered():
    app, state = make_app()
    conn = Conn(app)
    conn.feed(b"POST /sleepy HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
              + b"".join(b"GET /n/%d HTTP/1.1\r\nHost: a\r\n\r\n" % i for i in range(1000)))
    await conn.settle()
    assert state["order"] == [] and conn.transport.data == b""
    assert len(conn.protocol.cycles) <= 17 + 4096 // 18 and not conn.transport.reading
    state["go"].set()
    for _ in range(300):
        await conn.settle(5)
        if len(state["order"]) == 1000:
            break
    answers, _ = conn.answers()
    assert [a.body for a in answers] == [b"3"] + [str(i).encode() for i in range(1000)]


async def test_expect_continue_is_sent_once_on_the_first_get():
    """Catalogue 43: a streaming route: 100 Continue only when the handler first reads, exactly once."""
    app, state = make_app()
    conn = Conn(app)
    conn.feed(b"POST /sleepy HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 18\r\n\r\n")
    await conn.settle()
    assert conn.transport.data == b""
    state["go"].set()
    await conn.settle()
    assert bytes(conn.transport.data) == b"HTTP/1.1 100 Continue\r\n\r\n"
    conn.feed(b"x" * 18)
    await conn.settle()
    answers, _ = conn.answers(["POST"])
    assert answers[0].informational == [100] and answers[0].status == 200 and answers[0].body == b"18"
    assert bytes(conn.transport.data).count(b"100 Continue") == 1


async def test_expect_continue_for_a_buffered_route_and_none_when_the_body_is_already_here():
    app, _ = make_app()
    conn = Conn(app)
    conn.feed(b"POST /buffered HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    await conn.settle()
    assert bytes(conn.transport.data) == b"HTTP/1.1 100 Continue\r\n\r\n"
    conn.feed(b"hi")
    await conn.settle()
    assert [(a.informational, a.status, a.body) for a in conn.answers(["POST"])[0]] == [([100], 200, b"2")]
    conn = Conn(app)
    conn.feed(b"POST /buffered HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi")
    await conn.settle()
    assert b"100 Continue" not in conn.transport.data


async def test_unawaited_writes_go_out_in_order():
    app, _ = make_app()
    conn = Conn(app)
    conn.feed(b"GET /unawaited HTTP/1.1\r\nHost: a\r\n\r\n")
    await conn.settle()
    answers, _ = conn.answers()
    assert answers[0].body == b"one two three"


async def test_disconnect_mid_upload_fails_the_pending_get_and_leaves_no_task():
    """Catalogue 47: the pending get() raises ConnectionClosed; finally runs; no task is left behind."""
    app, state = make_app()
    state["go"].set()
    before = set(asyncio.all_tasks())
    conn = Conn(app)
    conn.feed(b"POST /sleepy HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 100000)
    await conn.settle()
    assert state["finally"] == 0
    conn.protocol.connection_lost(ConnectionResetError())
    await conn.settle()
    assert state["finally"] == 1 and state["error"] in ("ConnectionClosed", "CancelledError")
    assert set(asyncio.all_tasks()) == before
    assert conn.transport.data == b""


async def test_disconnect_mid_download_cancels_the_streaming_function():
    """Catalogue 48: the writer is cancelled (or its write raises) and its finally runs."""
    app, state = make_app()
    before = set(asyncio.all_tasks())
    conn = Conn(app)
    conn.feed(b"GET /endless HTTP/1.1\r\nHost: a\r\n\r\n")
    await conn.settle()
    assert state["finally"] == 0 and len(conn.transport.data) > 4096
    conn.protocol.connection_lost(None)
    await conn.settle()
    assert state["finally"] == 1 and state["error"] in ("ConnectionClosed", "CancelledError")
    assert set(asyncio.all_tasks()) == before


async def test_half_close_after_a_complete_request_still_gets_the_answer():
    app, state = make_app()
    conn = Conn(app)
    conn.feed(b"GET /w/7 HTTP/1.1\r\nHost: a\r\n\r\n")  # (its handler waits: the FIN comes first)
    conn.eof()
    await conn.settle()
    answers, _ = conn.answers()
    assert [a.body for a in answers] == [b"7"] and conn.closed


async def test_half_close_after_the_answer_closes():
    app, state = make_app()
    conn = Conn(app)
    conn.feed(b"GET /n/7 HTTP/1.1\r\nHost: a\r\n\r\n")
    await conn.settle()
    conn.eof()
    await conn.settle()
    answers, _ = conn.answers()
    assert [a.body for a in answers] == [b"7"] and conn.closed


async def test_a_slow_handler_behind_a_full_buffer_is_not_a_body_timeout():
    """Pausing reading is the server's doing: the body timeout must not fire while the handler is slow."""
    app, state = make_app()
    app.config.REQUEST_BODY_TIMEOUT = 1.0
    conn = Conn(app)
    total = 2 * BUFFER
    conn.feed(b"POST /sleepy HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % total)
    fed = 0
    while conn.transport.reading:
        conn.feed(b"u" * PIECE)
        fed += PIECE
        await conn.settle(2)
    for _ in range(5):
        await conn.advance(1.0)
    assert not conn.closed and conn.transport.data == b""
    state["go"].set()
    while fed < total:
        await conn.settle(5)
        if conn.transport.reading:
            conn.feed(b"u" * PIECE)
            fed += PIECE
    await conn.settle()
    assert [(a.status, a.body) for a in conn.answers()[0]] == [(200, str(total).encode())]
