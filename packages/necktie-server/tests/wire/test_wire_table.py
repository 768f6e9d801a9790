"""The hostile-input catalogue (RELIABILITY.md A–E) as a table of raw bytes → expected outcome.

Each case goes to a real server on 127.0.0.1 whole, one byte per send, and cut at random places. Answers
are parsed with h11 (a strict client). A case that should keep the connection open is followed by a
``GET /next`` on the same connection, which must then be served; a case that should close must get exactly
its responses, then EOF, and nothing after.
"""

from __future__ import annotations

import asyncio

import pytest
from necktie_testing import LiveServer
from nt_app import make_app
from nt_cases import CASES, NEXT, SMALL, Expect, is_http10
from nt_rawhttp import Answer, connect, parse_all, read_answers, read_until_closed, send


class AsyncioLiveServer(LiveServer):
    """The same server on the standard library's event loop instead of uvloop."""

    def _main(self) -> None:
        asyncio.run(self._serve())


@pytest.fixture(scope="module", params=["uvloop", "asyncio"])
def live(request):
    app, calls = make_app()
    with (LiveServer if request.param == "uvloop" else AsyncioLiveServer)(app) as server:
        server.calls = calls
        yield server


def run_case(live: LiveServer, raw: bytes, expect: Expect, mode: str | int) -> None:
    live.calls.take()
    methods = list(expect.methods) or None
    with connect(live.port) as sock:
        send(sock, raw, mode)
        if expect.close:
            data, eof = read_until_closed(sock)
            answers, rest = parse_all(data, methods)
            assert eof, "the server kept the connection open"
            assert rest == b"", f"bytes after the last response: {rest[:80]!r}"
        else:
            answers, rest, eof = read_answers(sock, len(expect.statuses), methods)
            assert not eof and rest == b""
            send(sock, NEXT)
            data, eof = read_until_closed(sock)
            follow, rest = parse_all(data)
            assert eof and rest == b""
            assert [(a.status, a.body) for a in follow] == [(200, b"")], "the next request was not served"
            assert follow[0].headers["x-path"] == "/next"
    assert tuple(a.status for a in answers) == expect.statuses
    if expect.close and answers:
        last = answers[-1]
        unframed = last.headers.get("connection") is None and not last.complete
        assert last.closes or unframed or is_http10(raw), "the last response must say Connection: close"
    for answer, body in zip(answers, expect.bodies, strict=False):
        if body is not None:
            assert answer.body == body
    calls = live.calls.take()
    if not expect.close:
        assert calls[-1] == "/next"
        calls = calls[:-1]
    assert tuple(calls) == expect.calls
    _extra_checks(expect.check, answers)


def _extra_checks(check: str, answers: list[Answer]) -> None:
    if check == "absolute":
        assert answers[0].headers["x-host"] == "other" and answers[0].headers["x-path"] == "/x"
        assert answers[0].headers["x-query"] == "q=1"
    elif check == "obs":
        assert answers[0].headers["x-raw-x"] == "caf\xc3\xa9".encode("latin-1").hex()
    elif check == "no100":
        assert answers[0].informational == []
    elif check == "no-trailers":
        assert answers[0].headers["x-raw-x"] == "" and answers[0].headers["x-host"] == "a"
    elif check == "keepalive10":
        assert answers[0].headers.get("connection", "").lower() == "keep-alive"
        assert "content-length" in answers[0].headers


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_whole(live, name):
    raw, expect = CASES[name]
    run_case(live, raw, expect, "whole")


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", sorted(CASES))
def test_case_random_split(live, name, seed):
    raw, expect = CASES[name]
    run_case(live, raw, expect, seed + 1)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_case_byte_by_byte(live, name):
    raw, expect = CASES[name]
    run_case(live, raw, expect, "bytes")
