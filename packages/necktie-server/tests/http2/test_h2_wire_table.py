"""The HTTP/2 wire cases (`nt_h2cases`) over real loopback sockets, as the HTTP/1 table runs
(`tests/wire/test_wire_table.py`): each case sent whole, one byte per send, and cut at random places, after
the preface and an empty SETTINGS; the server's frames read back and decoded (`nt_h2frames`).

A case that ends with a GOAWAY must get exactly that error code and then the close, with no handler run; any
other must get each stream's expected answer, no GOAWAY, and then still answer a PING on the same
connection.
"""

from __future__ import annotations

import pytest
from necktie_testing import LiveServer
from nt_app import make_app
from nt_h2cases import H2_CASES, WINDOW, H2Expect
from nt_h2frames import END_STREAM, GOAWAY, HEADERS, PING, PREFACE, RST_STREAM, RawH2, ping, settings
from nt_rawhttp import send

pytest.importorskip("h2")
WAIT = 30.0


@pytest.fixture(scope="module")
def live():
    app, calls = make_app(HTTP2=True, HTTP2_INITIAL_WINDOW_SIZE=WINDOW)
    with LiveServer(app) as server:
        server.calls = calls
        yield server


def run_case(live: LiveServer, raw: bytes, expect: H2Expect, mode: str | int) -> None:
    live.calls.take()
    with RawH2(live.port, preface=False, timeout=WAIT) as conn:
        send(conn.sock, PREFACE + settings() + raw, mode)
        if expect.goaway is not None:
            assert conn.read_until_closed(WAIT), "the server kept the connection open"
            away = [f for f in conn.frames if f.kind == GOAWAY]
            assert away, f"no GOAWAY: {[(f.kind, f.stream_id) for f in conn.frames]}"
            assert [f.error_code for f in away] == [expect.goaway]
            assert conn.frames[-1] is away[-1], "frames after the GOAWAY"
        else:
            ended: dict[int, tuple[int | None, int | None]] = {}
            status: dict[int, int | None] = {}
            wanted = set(expect.statuses) | set(expect.resets)
            while not wanted <= set(ended):
                got = conn.read_until(lambda f: f.stream_id in wanted or f.kind == GOAWAY, WAIT)
                assert got is not None and got.kind != GOAWAY, (got, conn.frames)
                if got.kind == HEADERS and got.stream_id not in status:
                    status[got.stream_id] = got.status
                if got.kind == RST_STREAM or got.flags & END_STREAM:
                    code = got.error_code if got.kind == RST_STREAM else None
                    ended[got.stream_id] = (status.get(got.stream_id), code)
            for sid, want in expect.statuses.items():
                assert ended[sid] == (want, None), f"stream {sid}: {ended[sid]}"
            for sid, want in expect.resets.items():
                assert ended[sid][1] == want, f"stream {sid}: {ended[sid]}"
            conn.send(ping(b"stillhere"[:8]))
            pong = conn.read_until(lambda f: f.kind == PING and f.flags & 1 or f.kind == GOAWAY, WAIT)
            assert pong is not None and pong.kind == PING, "the connection did not stay usable"
    calls = tuple(live.calls.take())
    assert expect.calls is None or calls == expect.calls


@pytest.mark.parametrize("mode", ["whole", "bytes", 1])
@pytest.mark.parametrize("name", list(H2_CASES))
def test_h2_case(live, name, mode):
    raw, expect = H2_CASES[name]
    if mode == "bytes" and len(raw) > 2000:
        mode = 2  # a large case is cut at random places instead of at every byte
    run_case(live, raw, expect, mode)
