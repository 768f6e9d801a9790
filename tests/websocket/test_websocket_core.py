"""The carrier-independent side of WebSockets: registration, the `WebSocket` API and `serve`, with fakes."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pynecktie import Blueprint, Necktie
from pynecktie.request import Request
from pynecktie.response import text
from pynecktie.websocket import (
    UpgradeRequired,
    WebSocket,
    WebSocketClosed,
    WebSocketEndpoint,
    select_subprotocol,
    serve,
)


class FakeWebSocket(WebSocket):
    """An in-memory websocket: messages put on ``incoming``; ``None`` there means the client closed."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self.sent: list[str | bytes] = []
        self.closed_with: tuple[int, str] | None = None

    subprotocol = None

    @property
    def closed(self) -> bool:
        return self.closed_with is not None

    @property
    def close_code(self) -> int | None:
        return self.closed_with and self.closed_with[0]

    @property
    def close_reason(self) -> str | None:
        return self.closed_with and self.closed_with[1]

    async def send(self, message: str | bytes) -> None:
        if self.closed_with:
            raise WebSocketClosed(*self.closed_with)
        self.sent.append(message)

    async def receive(self) -> str | bytes:
        if self.closed_with:
            raise WebSocketClosed(*self.closed_with)
        message = await self.incoming.get()
        if message is None:
            self.closed_with = (1000, "")
            raise WebSocketClosed(1000)
        return message

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed_with is None:
            self.closed_with = (code, reason)


class FakeUpgrade:
    def __init__(self) -> None:
        self.ws = FakeWebSocket()
        self.rejected: list = []
        self.accepted_with: tuple[str, ...] | None = None

    async def accept(self, subprotocols):
        self.accepted_with = tuple(subprotocols)
        return self.ws

    async def reject(self, response):
        self.rejected.append(response)


def routed(app: Necktie, path: str) -> Request:
    request = Request(app, "GET", path.encode(), "1.1", [(b"host", b"x")])
    assert app.match(request) is not None
    return request


def test_registration_on_app_and_blueprint():
    app = Necktie("reg")
    bp = Blueprint("live", url_prefix="/live", version=2)

    async def feed(request, ws):
        pass

    assert app.websocket("/feed", subprotocols=["a"])(feed) is feed
    bp.websocket("/<topic>")(feed)
    app.add_websocket_route(feed, "added", name="added")
    app.blueprint(bp)
    routes = {route.path: route for route in app.router.routes}
    assert set(routes) == {"/feed", "/v2/live/<topic>", "/added"}
    for route in routes.values():
        assert route.websocket and route.methods == frozenset({"GET"})
        assert isinstance(route.handler, WebSocketEndpoint) and route.handler.handler is feed
    assert routes["/feed"].handler.subprotocols == ("a",)
    assert app.url_for("live.feed", topic="news") == "/v2/live/news"
    assert app.url_for("added") == "/added"


def test_a_plain_request_to_a_websocket_route_is_426():
    app = Necktie("plain")

    @app.websocket("/feed")
    async def feed(request, ws):
        pass

    with pytest.raises(UpgradeRequired) as exc:
        routed(app, "/feed").route.handler(routed(app, "/feed"))
    assert exc.value.status_code == 426 and exc.value.headers["Upgrade"] == "websocket"


def test_subprotocol_selection_prefers_the_server_order():
    assert select_subprotocol(["b", "a"], ["a", "b"]) == "a"
    assert select_subprotocol(["c"], ["a", "b"]) is None
    assert select_subprotocol([], ["a"]) is None
    assert select_subprotocol(["a"], []) is None


async def test_recv_timeout_none_on_close_and_iteration():
    ws = FakeWebSocket()
    with pytest.raises(TimeoutError):
        await ws.recv(timeout=0.01)
    for message in ("a", b"b"):
        ws.incoming.put_nowait(message)
    ws.incoming.put_nowait(None)
    assert [m async for m in ws] == ["a", b"b"]
    assert await ws.recv(none_on_close=True) is None
    with pytest.raises(WebSocketClosed) as closed:
        await ws.recv()
    assert closed.value.code == 1000


async def test_serve_runs_middleware_first_then_the_handler_and_closes(caplog):
    app = Necktie("serve")
    calls: list[str] = []

    @app.on_request
    def mw(request):
        calls.append("middleware")
        if request.path == "/refused":
            return text("no", status=403)
        if request.path == "/broken":
            raise RuntimeError("middleware bug")

    @app.on_response
    def tag(request, response):
        response.headers["x-seen"] = "1"

    @app.websocket("/ok", subprotocols=["p"])
    async def ok(request, ws):
        calls.append("handler")
        await ws.send(await ws.recv())

    @app.websocket("/refused")
    async def refused(request, ws):
        calls.append("never")

    @app.websocket("/broken")
    async def broken(request, ws):
        calls.append("never")

    @app.websocket("/raises")
    async def raises(request, ws):
        raise KeyError("oops")

    upgrade = FakeUpgrade()
    upgrade.ws.incoming.put_nowait("ping")
    await serve(app, routed(app, "/ok"), upgrade)
    assert calls == ["middleware", "handler"]
    assert upgrade.accepted_with == ("p",) and upgrade.ws.sent == ["ping"]
    assert upgrade.ws.closed_with == (1000, "")

    for path, status in (("/refused", 403), ("/broken", 500)):
        upgrade = FakeUpgrade()
        await serve(app, routed(app, path), upgrade)
        assert upgrade.accepted_with is None
        assert [r.status for r in upgrade.rejected] == [status]
        assert upgrade.rejected[0].headers["x-seen"] == "1"  # response middleware saw the refusal
    assert "never" not in calls

    upgrade = FakeUpgrade()
    with caplog.at_level(logging.ERROR, logger="necktie.error"):
        await serve(app, routed(app, "/raises"), upgrade)
    assert upgrade.ws.closed_with == (1011, "handler error")
    assert any(r.exc_info and isinstance(r.exc_info[1], KeyError) for r in caplog.records)
