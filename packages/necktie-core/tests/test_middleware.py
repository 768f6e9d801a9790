"""Middleware order and short-circuits (buffered and streamed), blueprints' scoped hooks, listeners, ctx."""

from __future__ import annotations

import asyncio

import pytest
from pynecktie import Blueprint
from pynecktie.blueprints import BlueprintGroup
from pynecktie.response import stream, text


async def test_order_request_in_registration_order_response_in_reverse(app, call):
    log: list[str] = []

    @app.middleware("request")
    def req1(request):
        log.append("req1")

    @app.on_request
    async def req2(request):
        log.append("req2")

    @app.middleware("response")
    def resp1(request, response):
        log.append("resp1")

    @app.on_response()
    async def resp2(request, response):
        log.append("resp2")

    @app.get("/")
    def handler(request):
        log.append("handler")
        return text("ok")

    result = await call(app, "GET", "/")
    assert result.text == "ok"
    assert log == ["req1", "req2", "handler", "resp2", "resp1"]


async def test_request_middleware_short_circuits(app, call):
    called = []

    @app.on_request
    def guard(request):
        if request.headers.get("authorization") != "yes":
            return text("denied", status=401)

    @app.on_request
    def never(request):
        called.append("second middleware")

    @app.on_response
    def stamp(request, response):
        response.headers["X-Stamp"] = "1"

    @app.get("/")
    def handler(request):
        called.append("handler")
        return text("ok")

    result = await call(app, "GET", "/")
    assert (result.status, result.text, result.headers["X-Stamp"]) == (401, "denied", "1")
    assert called == []
    assert (await call(app, "GET", "/", {"Authorization": "yes"})).text == "ok"


async def test_response_middleware_may_replace_the_response(app, call):
    @app.on_response
    def replace(request, response):
        return text("replaced", status=202)

    app.get("/")(lambda request: text("original"))
    result = await call(app, "GET", "/")
    assert (result.status, result.text) == (202, "replaced")


async def test_middleware_around_stream_routes_and_streamed_responses(app, call):
    log: list[str] = []

    @app.on_request
    def before(request):
        log.append(f"before:{request.stream is not None}")

    @app.on_response
    def after(request, response):
        response.headers["X-After"] = "yes"
        log.append("after")

    @app.post("/upload", stream=True)
    async def upload(request):
        async def body(response):
            while (chunk := await request.stream.get()) is not None:
                await response.write(chunk.upper())
        return stream(body)

    result = await call(app, "POST", "/upload", chunks=[b"ab", b"cd"])
    assert result.streamed and result.body == b"ABCD"
    assert result.headers["X-After"] == "yes"
    assert log == ["before:True", "after"]

    @app.on_request
    def block(request):
        if request.path == "/upload":
            return text("blocked", status=403)

    result = await call(app, "POST", "/upload", chunks=[b"x"])
    assert (result.status, result.text) == (403, "blocked")


async def test_middleware_exception_becomes_error_response(app, call):
    @app.on_request
    def boom(request):
        raise RuntimeError("secret detail")

    app.get("/")(lambda request: text("ok"))
    result = await call(app, "GET", "/")
    assert result.status == 500
    assert b"secret detail" not in result.body


async def test_blueprint_middleware_is_scoped_and_nests_inside_app_middleware(app, call):
    log: list[str] = []
    bp = Blueprint("bp", url_prefix="/bp")

    @app.on_request
    def app_req(request):
        log.append("app_req")

    @app.on_response
    def app_resp(request, response):
        log.append("app_resp")

    @bp.on_request
    def bp_req(request):
        log.append("bp_req")

    @bp.on_response
    def bp_resp(request, response):
        log.append("bp_resp")

    bp.get("/x")(lambda request: text("bp"))
    app.get("/plain")(lambda request: text("plain"))
    app.blueprint(bp)

    await call(app, "GET", "/bp/x")
    assert log == ["app_req", "bp_req", "bp_resp", "app_resp"]
    log.clear()
    await call(app, "GET", "/plain")
    assert log == ["app_req", "app_resp"]


async def test_same_blueprint_twice_under_two_prefixes(app, call):
    bp = Blueprint("shared")
    hits: list[str] = []

    @bp.on_request
    def mark(request):
        hits.append(request.path)

    @bp.get("/item/<id:int>")
    def item(request, id):
        return text(f"{request.path}:{id}")

    app.blueprint(bp, url_prefix="/one")
    app.blueprint(bp, url_prefix="/two")
    assert (await call(app, "GET", "/one/item/1")).text == "/one/item/1:1"
    assert (await call(app, "GET", "/two/item/2")).text == "/two/item/2:2"
    assert hits == ["/one/item/1", "/two/item/2"]
    assert app.url_for("shared.item", id=1) == "/one/item/1"


async def test_blueprint_groups_prefix_version_and_middleware(app, call):
    a = Blueprint("a", url_prefix="/a")
    b = Blueprint("b", url_prefix="/b")
    a.get("/")(lambda request: text("a"))
    b.get("/")(lambda request: text("b"))
    group = Blueprint.group(a, b, url_prefix="/api", version=2)

    @group.on_response
    def tag(request, response):
        response.headers["X-Group"] = "api"

    outer = BlueprintGroup([group], url_prefix="/outer")
    app.blueprint(outer)
    result = await call(app, "GET", "/v2/outer/api/a/")
    assert (result.text, result.headers["X-Group"]) == ("a", "api")
    assert (await call(app, "GET", "/v2/outer/api/b")).text == "b"


async def test_listeners_take_app_or_app_and_loop_in_order(app):
    calls: list[tuple[str, object]] = []

    @app.before_server_start
    def one(app_):
        calls.append(("before_start", app_))

    @app.listener("before_server_start")
    async def two(app_, loop):
        calls.append(("before_start_loop", loop))

    @app.after_server_start
    def three(app_):
        app_.ctx.ready = True

    @app.before_server_stop
    def stop1(app_):
        calls.append(("stop1", None))

    @app.before_server_stop
    def stop2(app_):
        calls.append(("stop2", None))

    loop = asyncio.get_running_loop()
    await app.dispatch("before_server_start")
    await app.dispatch("after_server_start")
    await app.dispatch("before_server_stop")
    assert calls[:2] == [("before_start", app), ("before_start_loop", loop)]
    assert app.ctx.ready is True
    assert [c[0] for c in calls[2:]] == ["stop2", "stop1"]
    with pytest.raises(ValueError):
        app.listener("before_sever_start")


async def test_blueprint_listeners_run_once(app):
    bp = Blueprint("lst")
    seen = []
    bp.before_server_start(lambda app_: seen.append(app_))
    app.blueprint(bp, url_prefix="/x")
    app.blueprint(bp, url_prefix="/y")
    await app.dispatch("before_server_start")
    assert seen == [app]


async def test_ctx_objects_and_request_app(app, call):
    app.ctx.db = "database"

    @app.on_request
    def attach(request):
        request.ctx.user = "ann"

    @app.get("/")
    def handler(request):
        return text(f"{request.app.ctx.db}:{request.ctx.user}:{request.app is app}")

    assert (await call(app, "GET", "/")).text == "database:ann:True"
