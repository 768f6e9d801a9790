"""A complete response with headers of the application's own goes out on the hot path (`h1.field_lines`
into `Cycle._send_simple`) byte for byte as the general path (`plan_head`, `encode_head`) writes it.

Each response is sent twice over the real `HttpProtocol` on a mock transport, the clock frozen so both
heads carry the same date: once as the server does, once with `field_lines` made to decline (the general
path). The two byte strings must be equal, and the hot path must have been taken where it applies.
"""

from __future__ import annotations

import pytest
from necktie_server import cycle, h1
from nt_mock import Conn
from pynecktie import Necktie
from pynecktie.response import HTTPResponse, json, raw, text

FROZEN = 1_000_000_000.5  # 2001: the real clock is past it, so the date cache refreshes afterwards


def _responses() -> dict[str, HTTPResponse]:
    return {
        "one": text("hi", headers={"X-Request-ID": "abc-123"}),
        "two": json({"a": 1}, headers={"X-One": "1", "x-two": "two words, and more"}),
        "repeated": text("r", headers=[("Set-Cookie", "a=1"), ("set-cookie", "b=2")]),
        "latin1": text("é", headers={"X-Name": "caf\xe9"}),
        "status": text("made", status=201, headers={"Location": "/made/1"}),
        "teapot": text("no", status=418, headers={"X-Why": "short"}),
        "rare": raw(b"\x00\x01", status=599, headers={"X-Rare": "yes"}),
        "untyped": HTTPResponse(b"plain", headers={"X-Untyped": "1"}, content_type=None),
        "empty_body": text("", headers={"X-Empty": "1"}),
        "large": raw(b"x" * 20000, headers={"X-Large": "1"}),
        "empty_value": text("e", headers={"X-Blank": ""}),
        # Headers the general path treats itself (not passed through as they are): it sends them.
        "typed": text("t", headers={"Content-Type": "text/x-custom", "X-After": "1"}),
        "length": text("l", headers={"Content-Length": "99", "X-After": "1"}),
        "no_body": HTTPResponse(status=204, headers={"X-Gone": "1"}),
        "bad_value": text("b", headers={"X-Bad": "a\r\nInjected: yes"}),
        "bad_name": text("b", headers={"Bad Name": "1"}),
    }


FAST = {"one", "two", "repeated", "latin1", "status", "teapot", "rare", "untyped", "empty_body", "large",
        "empty_value"}

REQUESTS = {
    "1.1": b"GET /r/%s HTTP/1.1\r\nHost: x\r\n\r\n",
    "1.0": b"GET /r/%s HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "close": b"GET /r/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
}


def _app(name: str) -> Necktie:
    app = Necktie(name)

    @app.get("/r/<case>")
    async def case(request, case):
        return _responses()[case]

    return app


async def _wire(app: Necktie, data: bytes) -> bytes:
    conn = Conn(app)
    conn.feed(data)
    await conn.settle()
    return bytes(conn.transport.data)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(h1, "_now", lambda: FROZEN)
    monkeypatch.setattr(cycle, "_now", lambda: FROZEN)


@pytest.mark.parametrize("version", sorted(REQUESTS))
async def test_the_hot_path_writes_what_the_general_path_writes(frozen, monkeypatch, version):
    app = _app(f"lines_{version.replace('.', '_')}")
    taken: dict[str, bool] = {}
    original = h1.field_lines
    calls: list[bytes | None] = []

    def spy(headers):
        calls.append(original(headers))
        return calls[-1]

    for name in _responses():
        data = REQUESTS[version] % name.encode()
        calls.clear()
        monkeypatch.setattr(h1, "field_lines", spy)
        hot = await _wire(app, data)
        taken[name] = any(result is not None for result in calls)
        monkeypatch.setattr(h1, "field_lines", lambda headers: None)
        general = await _wire(app, data)
        assert hot == general, name
        assert hot.startswith(b"HTTP/1.1 "), name
    assert {name for name, fast in taken.items() if fast} == FAST


async def test_an_echoed_request_id_goes_out_as_the_general_path_writes_it(frozen, monkeypatch):
    app = _app("lines_request_id")
    app.config.REQUEST_ID = True
    data = (b"GET /r/one HTTP/1.1\r\nHost: x\r\nX-Request-ID: given-1\r\n\r\n"
            b"GET /r/two HTTP/1.1\r\nHost: x\r\n\r\n")
    hot = await _wire(app, data)
    monkeypatch.setattr(h1, "field_lines", lambda headers: None)
    general = await _wire(app, data)
    # The second request's id is fresh each time: compare everything but its 32 hex digits.
    hot_lines, general_lines = hot.split(b"\r\n"), general.split(b"\r\n")
    echo = b"X-Request-ID: "
    fresh = [i for i, line in enumerate(hot_lines) if line.startswith(echo) and b"given" not in line]
    assert len(fresh) == 1 and len(hot_lines[fresh[0]]) == len(echo) + 32
    hot_lines[fresh[0]] = general_lines[fresh[0]] = b"<fresh>"
    assert hot_lines == general_lines
    assert b"\r\nX-Request-ID: given-1\r\n" in hot and b"abc-123" not in hot  # the app's own is replaced
