"""Hypothesis mutates valid requests (and sends plain garbage) at the protocol over a mock transport.

Whatever Necktie accepts must be what h11, a strict independent parser, reads from the same bytes; anything
else gets at most one error response and the connection closed. No input may crash, hang, or get a 500.
"""

from __future__ import annotations

import asyncio
import logging
import re

import h11
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nt_mock import Conn
from nt_rawhttp import parse_all
from pynecktie import Necktie
from pynecktie.response import raw

BASES = [
    b"GET /a?b=c HTTP/1.1\r\nHost: example\r\nX-One: 1\r\nAccept: */*\r\n\r\n",
    b"POST /p HTTP/1.1\r\nHost: example\r\nContent-Length: 5\r\nX-Two: two\r\n\r\nhello",
    b"POST /p HTTP/1.1\r\nHost: example\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n2\r\n!!\r\n0\r\n\r\n",
    b"GET / HTTP/1.0\r\nHost: example\r\n\r\n",
    b"GET /a HTTP/1.1\r\nHost: example\r\n\r\nGET /b HTTP/1.1\r\nHost: example\r\nContent-Length: 1\r\n\r\nz",
]
NASTY = [b"\r", b"\n", b" ", b"\t", b"\x00", b"\x85", b"\xa0", b",", b";", b":", b"\r\n", b"\x7f", b"0", b"-",
         b"Transfer-Encoding: chunked\r\n", b"Content-Length: 3\r\n", b"Host: other\r\n"]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        pos = draw(st.integers(0, len(data)))
        if kind == "insert":
            data[pos:pos] = draw(st.sampled_from(NASTY))
        elif kind == "delete" and data:
            del data[pos:pos + draw(st.integers(1, 3))]
        elif data:
            pos = min(pos, len(data) - 1)
            data[pos:pos + 1] = draw(st.sampled_from(NASTY))
    return bytes(data)


def make_app() -> tuple[Necktie, list[tuple[str, bytes, list[tuple[bytes, bytes]], bytes]]]:
    app = Necktie("mutations")
    app.config.update_config({"ACCESS_LOG": False, "REQUEST_TIMEOUT": 1.0, "REQUEST_BODY_TIMEOUT": 1.0,
                              "KEEP_ALIVE_TIMEOUT": 1.0})
    seen: list[tuple[str, bytes, list[tuple[bytes, bytes]], bytes]] = []

    async def echo(request, path=""):
        seen.append((request.method, request.target, list(request.raw_headers), request.body))
        return raw(b"ok")

    app.add_route(echo, "/<path:path>", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
    app.add_route(echo, "/", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"], name="root")
    return app, seen


def _lenient(data: bytes) -> bytes:
    """*data* without the two leniencies RFC 9112 allows a server (§2.2, §3) and the parser has:
    stray line ends before a request, and runs of spaces between the request line's words."""
    data = data.lstrip(b"\r\n")
    return re.sub(rb"(?m)^([A-Z]+) +([^ \r\n]+) +(HTTP/)", rb"\1 \2 \3", data)


def h11_requests(data: bytes) -> list[tuple[str, bytes, list[tuple[bytes, bytes]], bytes]]:
    """The requests h11 reads from *data*, one fresh parser per request, until it stops or refuses."""
    found: list[tuple[str, bytes, list[tuple[bytes, bytes]], bytes]] = []
    while data.strip(b"\r\n"):
        conn = h11.Connection(h11.SERVER)
        conn.receive_data(_lenient(data))
        conn.receive_data(b"")
        current: list = []
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError:
                return found
            if isinstance(event, h11.Request):
                current = [event.method.decode(), event.target, [(k, v) for k, v in event.headers], b""]
            elif isinstance(event, h11.Data):
                current[3] += event.data
            elif isinstance(event, h11.EndOfMessage):
                found.append(tuple(current))  # type: ignore[arg-type]
                data = conn.trailing_data[0]
                break
            else:  # NEED_DATA, PAUSED, ConnectionClosed: nothing more complete
                return found
    return found


async def serve(data: bytes, cuts: tuple[int, ...] = ()) -> tuple[Conn, list, list[BaseException]]:
    app, seen = make_app()
    errors: list[BaseException] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: errors.append(context.get("exception")
                                                                   or RuntimeError(context["message"])))
    conn = Conn(app)
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(data)}), len(data)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        conn.feed(data[start:end])
        await conn.settle(3)
    await conn.settle()
    if not conn.closed:
        conn.eof()
        await conn.settle()  # a closed transport's connection_lost runs before any timer, as in asyncio
        for _ in range(5):
            await conn.advance(1.0)
    await conn.settle()
    return conn, seen, errors


def check(data: bytes) -> None:
    error_log: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            error_log.append(record)

    handler = Collect(logging.ERROR)
    logging.getLogger("necktie").addHandler(handler)
    try:
        conn, seen, errors = asyncio.run(serve(data))
    finally:
        logging.getLogger("necktie").removeHandler(handler)
    assert not errors and not error_log, (errors, [r.getMessage() for r in error_log])
    assert conn.closed, "the connection was left open after EOF and every timeout"
    answers, rest = parse_all(bytes(conn.transport.data), eof=True)
    assert rest == b"", rest
    statuses = [a.status for a in answers]
    assert 500 not in statuses
    failures = [s for s in statuses if s >= 400]
    assert len(failures) <= 1 and (not failures or statuses[-1] >= 400), statuses
    assert len(seen) == statuses.count(200)
    strict = h11_requests(data)
    # Every request Necktie served, h11 reads the same way (method, target, headers, body).
    for mine, theirs in zip(seen, strict, strict=False):
        method, target, headers, body = mine
        same_request = (method, target, body) == (theirs[0], theirs[1], theirs[3])
        assert same_request or (method, body) == (theirs[0], theirs[3])
        assert [(k.lower(), v) for k, v in headers] == [(k.lower(), v) for k, v in theirs[2]]
    assert len(seen) <= len(strict), (seen, strict)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_requests(data):
    check(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_garbage(data):
    check(data)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(BASES))
def test_valid_bases_are_all_served(data):
    check(data)
    _, seen, _ = asyncio.run(serve(data))
    assert len(seen) == data.count(b"HTTP/1.")


_DATE = re.compile(rb"date: [^\r]*\r\n")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.lists(st.integers(1, 400), max_size=6))
def test_how_the_bytes_are_cut_never_changes_the_outcome(data, cuts):
    """The same bytes in other reads: the same answers, the same handler calls, the same close."""
    whole, seen_whole, _ = asyncio.run(serve(data))
    split, seen_split, errors = asyncio.run(serve(data, tuple(cuts)))
    assert not errors
    assert seen_split == seen_whole
    assert _DATE.sub(b"", bytes(split.transport.data)) == _DATE.sub(b"", bytes(whole.transport.data))
    assert split.closed == whole.closed
