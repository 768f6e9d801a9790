"""The ASGI ``http`` scope: the request built from the scope, buffered responses, errors and middleware."""

from __future__ import annotations

import asyncio
import contextvars

import pytest
from pynecktie import Necktie
from pynecktie.exceptions import NecktieException, NotFound
from pynecktie.response import empty, json, text


@pytest.fixture
def app():
    return Necktie("asgi_http")


async def test_scope_becomes_the_request(app, asgi_call, scope):
    seen = {}

    @app.get("/items/<name>")
    async def item(request, name):
        conn = request.conn_info
        seen.update(name=name, path=request.path, args=dict(request.args), ip=request.ip, port=request.port,
                    server=(conn.server_ip, conn.server_port), scheme=request.scheme,
                    host=request.host, version=request.version, agent=request.headers.get("user-agent"),
                    url=request.url)
        return text("ok")

    exchange = await asgi_call(app, scope(
        "GET", "/items/a b", query=b"x=1&x=2&y=3",
        raw_path=b"/items/a%20b", headers=[(b"host", b"example.test"), (b"user-agent", b"probe")],
        client=("10.0.0.7", 4321), server=("10.0.0.1", "8443"), scheme="https", http_version="1.0",
    ))
    assert exchange.status == 200
    assert seen == {
        "name": "a b", "path": "/items/a b", "args": {"x": ["1", "2"], "y": ["3"]}, "ip": "10.0.0.7",
        "port": 4321, "server": ("10.0.0.1", 8443), "scheme": "https", "host": "example.test",
        "version": "1.0", "agent": "probe", "url": "https://example.test/items/a%20b?x=1&x=2&y=3",
    }


async def test_path_is_used_when_the_server_gives_no_raw_path(app, asgi_call, scope):
    @app.get("/caf\u00e9/<tail>")
    async def cafe(request, tail):
        return text(f"{request.path}|{tail}")

    exchange = await asgi_call(app, scope("GET", "/caf\u00e9/x y", raw_path=None, client=None, server=None))
    assert exchange.status == 200
    assert exchange.body.decode() == "/caf\u00e9/x y|x y"


async def test_buffered_response_is_one_start_and_one_body_message(app, asgi_call, scope):
    @app.get("/")
    async def index(request):
        response = text("hello", headers={"X-Custom": "yes"})
        response.add_cookie("a", "1")
        response.add_cookie("b", "2")
        return response

    exchange = await asgi_call(app, scope())
    assert [m["type"] for m in exchange.sent] == ["http.response.start", "http.response.body"]
    start = exchange.start_message
    assert start["status"] == 200
    assert (b"x-custom", b"yes") in start["headers"]
    assert [v for k, v in start["headers"] if k == b"set-cookie"] == [
        b"a=1; Path=/; Secure; HttpOnly; SameSite=Lax", b"b=2; Path=/; Secure; HttpOnly; SameSite=Lax"]
    assert exchange.headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert exchange.headers[b"content-length"] == b"5"
    assert exchange.bodies == [{"type": "http.response.body", "body": b"hello", "more_body": False}]
    assert all(k == k.lower() for k, _ in start["headers"])


async def test_application_framing_headers_are_replaced(app, asgi_call, scope):
    @app.get("/")
    async def index(request):
        return text("four", headers={"Content-Length": "999", "Transfer-Encoding": "chunked"})

    exchange = await asgi_call(app, scope())
    assert [v for k, v in exchange.start_message["headers"] if k == b"content-length"] == [b"4"]
    assert b"transfer-encoding" not in exchange.headers


async def test_head_keeps_the_length_but_sends_no_body(app, asgi_call, scope):
    @app.route("/", methods=["GET", "HEAD"])
    async def index(request):
        return text("twelve bytes")

    exchange = await asgi_call(app, scope("HEAD"))
    assert exchange.headers[b"content-length"] == b"12"
    assert exchange.body == b""
    assert exchange.complete


async def test_204_has_no_body_type_or_length(app, asgi_call, scope):
    @app.get("/")
    async def index(request):
        return empty()

    exchange = await asgi_call(app, scope())
    assert exchange.status == 204
    assert b"content-length" not in exchange.headers and b"content-type" not in exchange.headers
    assert exchange.body == b"" and exchange.complete


async def test_header_injection_becomes_a_500(app, asgi_call, scope):
    @app.get("/")
    async def index(request):
        return text("x", headers={"X-Evil": "a\r\nSet-Cookie: stolen=1"})

    exchange = await asgi_call(app, scope())
    assert exchange.status == 500
    assert b"set-cookie" not in exchange.headers
    assert exchange.complete


async def test_buffered_route_body_is_joined_from_every_message_before_middleware(app, asgi_call, scope):
    seen = []

    @app.middleware("request")
    async def peek(request):
        seen.append(request.body)

    @app.post("/echo")
    async def echo(request):
        return json(request.json)

    exchange = await asgi_call(app, scope("POST", "/echo"), [b'{"a": ', b"", b"[1, 2]}"])
    assert exchange.status == 200
    assert exchange.body == b'{"a":[1,2]}'
    assert seen == [b'{"a": [1, 2]}']


async def test_declared_length_over_the_limit_is_413_without_reading(app, asgi_call, scope):
    app.config.REQUEST_MAX_SIZE = 10

    @app.post("/up")
    async def up(request):  # pragma: no cover - never reached
        return text("read")

    headers = [(b"host", b"x"), (b"content-length", b"11")]
    exchange = await asgi_call(app, scope("POST", "/up", headers=headers), b"x" * 11)
    assert exchange.status == 413
    assert exchange.receive_calls == 0


async def test_undeclared_body_over_the_limit_is_413(app, asgi_call, scope):
    @app.post("/up", max_body_size=8)
    async def up(request):  # pragma: no cover - never reached
        return text("read")

    exchange = await asgi_call(app, scope("POST", "/up"), [b"12345", b"67890"])
    assert exchange.status == 413


async def test_errors_take_the_pipeline_path(app, asgi_call, scope):
    class Conflict(Exception):
        pass

    @app.exception(Conflict)
    async def on_conflict(request, exc):
        return text("handled", status=409)

    @app.get("/boom")
    async def boom(request):
        raise RuntimeError("secret detail")

    @app.get("/teapot")
    async def teapot(request):
        raise NecktieException("short and stout", 418)

    @app.get("/conflict")
    async def conflict(request):
        raise Conflict()

    @app.post("/only-post")
    async def only_post(request):  # pragma: no cover - never reached
        return text("no")

    boom_ = await asgi_call(app, scope("GET", "/boom"))
    assert boom_.status == 500 and b"secret detail" not in boom_.body
    teapot_ = await asgi_call(app, scope("GET", "/teapot"))
    assert teapot_.status == 418 and b"short and stout" in teapot_.body
    conflict_ = await asgi_call(app, scope("GET", "/conflict"))
    assert (conflict_.status, conflict_.body) == (409, b"handled")
    missing = await asgi_call(app, scope("GET", "/nowhere"))
    assert missing.status == 404
    wrong = await asgi_call(app, scope("GET", "/only-post"))
    assert wrong.status == 405 and wrong.headers[b"allow"] == b"OPTIONS, POST"


async def test_middleware_runs_around_the_handler(app, asgi_call, scope):
    @app.middleware("request")
    async def gate(request):
        request.ctx.user = "ann"
        if request.path == "/blocked":
            return text("stopped", status=403)

    @app.middleware("response")
    async def stamp(request, response):
        response.headers["x-stamp"] = getattr(request.ctx, "user", "?")

    @app.get("/")
    async def index(request):
        return text(request.ctx.user)

    @app.get("/missing")
    async def missing(request):
        raise NotFound()

    ok = await asgi_call(app, scope())
    assert (ok.body, ok.headers[b"x-stamp"]) == (b"ann", b"ann")
    blocked = await asgi_call(app, scope("GET", "/blocked"))
    assert (blocked.status, blocked.body, blocked.headers[b"x-stamp"]) == (403, b"stopped", b"ann")
    nf = await asgi_call(app, scope("GET", "/missing"))
    assert (nf.status, nf.headers[b"x-stamp"]) == (404, b"ann")


async def test_handler_runs_in_a_task_and_context_of_its_own(app, asgi_call, scope):
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    tasks = []

    @app.get("/")
    async def index(request):
        tasks.append(asyncio.current_task())
        var.set("leaked?")
        return text("ok")

    exchange = await asgi_call(app, scope())
    assert exchange.status == 200
    assert tasks[0] is not exchange.task
    assert var.get() == "unset"


async def test_disconnect_while_the_handler_waits_cancels_its_task(app, scripted, scope):
    events = []
    started = asyncio.Event()

    @app.get("/slow")
    async def slow(request):
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            events.append("cancelled")
            raise
        return text("late")  # pragma: no cover - never reached

    exchange = scripted(app, scope("GET", "/slow"))
    exchange.push()
    await asyncio.wait_for(started.wait(), 10)
    await exchange.until(lambda: exchange.receive_calls == 2)  # body ended: now it listens for a disconnect
    exchange.disconnect()
    await exchange.finish()
    assert events == ["cancelled"]
    assert exchange.sent == []


async def test_cancelling_the_asgi_call_cancels_the_handler(app, scripted, scope):
    events = []
    started = asyncio.Event()

    @app.get("/slow")
    async def slow(request):
        started.set()
        try:
            await asyncio.sleep(60)
        finally:
            events.append("finally")

    exchange = scripted(app, scope("GET", "/slow"))
    exchange.push()
    await asyncio.wait_for(started.wait(), 10)
    exchange.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await exchange.finish()
    assert events == ["finally"]


async def test_disconnect_reported_after_the_response_is_not_a_loss(app, scope):
    """uvicorn answers a pending receive() with http.disconnect once the response is complete."""
    sent = []
    inbox: asyncio.Queue = asyncio.Queue()
    inbox.put_nowait({"type": "http.request", "body": b"", "more_body": False})
    finished = []

    @app.get("/")
    async def index(request):
        await asyncio.sleep(0)
        return text("done")

    @app.middleware("response")
    async def after(request, response):
        finished.append(True)

    async def receive():
        return await inbox.get()

    async def send(message):
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            inbox.put_nowait({"type": "http.disconnect"})

    await asyncio.wait_for(app(scope(), receive, send), 10)
    assert [m.get("body") for m in sent if m["type"] == "http.response.body"] == [b"done"]
    assert finished == [True]


async def test_unknown_scope_type_is_refused(app):
    async def receive():  # pragma: no cover - never called
        return {}

    async def send(message):  # pragma: no cover - never called
        pass

    with pytest.raises(ValueError, match="unsupported ASGI scope type"):
        await app({"type": "telepathy"}, receive, send)


async def test_websocket_scope_without_a_websocket_route_is_refused(app):
    sent = []

    async def receive():
        return {"type": "websocket.connect"}

    async def send(message):
        sent.append(message)

    await app({"type": "websocket", "path": "/ws", "headers": []}, receive, send)
    # No websocket.http.response extension offered: a close before accept, which servers answer with 403.
    assert [m["type"] for m in sent] == ["websocket.close"]


async def test_response_timeout_answers_503_under_asgi_too(app, asgi_call, scope):
    app.config.RESPONSE_TIMEOUT = 0.2
    events = []

    @app.get("/stuck")
    async def stuck(request):
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            events.append("timed out")
            raise
        return text("late")  # pragma: no cover - never reached

    exchange = await asgi_call(app, scope("GET", "/stuck"))
    assert exchange.status == 503
    assert exchange.complete
    assert events == ["timed out"]
