"""Exceptions with statuses, @exception handlers (app and blueprint), the default error page by Accept."""

from __future__ import annotations

import orjson
import pytest
from pynecktie import Blueprint, Necktie
from pynecktie import exceptions as exc
from pynecktie.response import json, text


@pytest.mark.parametrize(("cls", "status"), [
    (exc.BadRequest, 400), (exc.Unauthorized, 401), (exc.Forbidden, 403), (exc.NotFound, 404),
    (exc.MethodNotAllowed, 405), (exc.RequestTimeout, 408), (exc.PayloadTooLarge, 413),
    (exc.RangeNotSatisfiable, 416), (exc.ExpectationFailed, 417), (exc.UnprocessableEntity, 422),
    (exc.ServerError, 500), (exc.ServiceUnavailable, 503),
])
async def test_each_exception_has_its_status(app, call, cls, status):
    @app.get("/")
    def handler(request):
        raise cls("custom message")

    result = await call(app, "GET", "/")
    assert result.status == status
    assert "custom message" in result.text


async def test_exception_with_explicit_status_and_headers(app, call):
    @app.get("/")
    def handler(request):
        raise exc.NecktieException("teapot", status_code=418, headers={"X-Why": "tea"})

    result = await call(app, "GET", "/")
    assert (result.status, result.headers["X-Why"]) == (418, "tea")


async def test_app_exception_handlers_match_subclasses(app, call):
    @app.exception(exc.NotFound)
    def not_found(request, error):
        return json({"missing": request.path}, status=404)

    @app.exception([ValueError, KeyError])
    async def bad_value(request, error):
        return text(f"bad: {error}", status=422)

    @app.get("/value")
    def value(request):
        raise ValueError("nope")

    @app.get("/header")
    def header(request):
        raise exc.HeaderNotFound("no header")  # a BadRequest: no handler for it, default page

    assert orjson.loads((await call(app, "GET", "/nowhere")).body) == {"missing": "/nowhere"}
    result = await call(app, "GET", "/value")
    assert (result.status, result.text) == (422, "bad: nope")
    assert (await call(app, "GET", "/header")).status == 400


async def test_blueprint_exception_handlers_are_scoped(app, call):
    bp = Blueprint("bp", url_prefix="/bp")

    @bp.exception(RuntimeError)
    def bp_handler(request, error):
        return text("bp handled", status=409)

    @bp.get("/fail")
    def bp_fail(request):
        raise RuntimeError("x")

    @app.get("/fail")
    def app_fail(request):
        raise RuntimeError("x")

    app.blueprint(bp)
    assert (await call(app, "GET", "/bp/fail")).status == 409
    assert (await call(app, "GET", "/fail")).status == 500


async def test_failing_exception_handler_falls_back_to_500(app, call):
    @app.exception(ValueError)
    def broken(request, error):
        raise RuntimeError("handler broke")

    @app.get("/")
    def handler(request):
        raise ValueError("first")

    result = await call(app, "GET", "/")
    assert result.status == 500


@pytest.mark.parametrize(("accept", "content_type", "marker"), [
    ("application/json", "application/json", b'"status":500'),
    ("text/html,application/xhtml+xml", "text/html; charset=utf-8", b"<h1>500"),
    ("*/*", "text/plain; charset=utf-8", b"500"),
    ("text/html;q=0.5, application/json", "application/json", b'"status":500'),
    ("application/json;q=0, text/html", "text/html; charset=utf-8", b"<h1>500"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html; charset=utf-8", b"<h1>"),
    ("", "text/plain; charset=utf-8", b"500"),
])
async def test_default_error_page_follows_accept_and_hides_tracebacks(app, call, accept, content_type,
                                                                      marker):
    @app.get("/")
    def handler(request):
        raise RuntimeError("database password is hunter2")

    result = await call(app, "GET", "/", {"Accept": accept} if accept else {})
    assert result.status == 500
    assert result.content_type == content_type
    assert marker in result.body
    assert b"hunter2" not in result.body
    assert b"Traceback" not in result.body


async def test_debug_shows_the_traceback(call):
    app = Necktie("debug")
    app.config.DEBUG = True

    @app.get("/")
    def handler(request):
        raise RuntimeError("visible in debug")

    result = await call(app, "GET", "/")
    assert b"Traceback" in result.body and b"visible in debug" in result.body


async def test_404_and_405_pages(app, call):
    app.get("/only-get")(lambda request: text("x"))
    result = await call(app, "GET", "/missing", {"Accept": "application/json"})
    assert result.status == 404
    assert orjson.loads(result.body)["status"] == 404
    result = await call(app, "PUT", "/only-get")
    assert result.status == 405 and result.headers["Allow"] == "GET, HEAD, OPTIONS"


async def test_handler_returning_nothing_is_a_500(app, call):
    app.get("/")(lambda request: None)
    assert (await call(app, "GET", "/")).status == 500


@pytest.mark.parametrize(("fallback", "content_type"), [
    ("json", "application/json"), ("html", "text/html; charset=utf-8"), ("text", "text/plain; charset=utf-8"),
    ("auto", "text/html; charset=utf-8"),
])
async def test_fallback_error_format_setting(app, call, fallback, content_type):
    app.config.FALLBACK_ERROR_FORMAT = fallback
    result = await call(app, "GET", "/missing", {"Accept": "text/html"})
    assert (result.status, result.content_type) == (404, content_type)


async def test_an_error_whose_own_page_cannot_be_built_is_still_a_500(app, call, caplog):
    class Broken(exc.NecktieException):
        def to_response(self):
            raise RuntimeError("the error page itself fails")

    @app.get("/")
    def handler(request):
        raise Broken("boom")

    result = await call(app, "GET", "/")
    assert (result.status, result.body) == (500, b"500 Internal Server Error\n")
    assert "Could not build the error response" in caplog.text


class _FailingOnceSink:
    """A sink whose first send fails (a carrier's own bug): records what came after."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, bytes]] = []
        self.attempts = 0
        self.aborted = False

    @property
    def started(self) -> bool:
        return bool(self.sent)

    async def send(self, response, body):
        self.attempts += 1
        if self.attempts == 1:
            raise RuntimeError("the carrier failed to send")
        self.sent.append((response.status, body))

    def abort(self) -> None:
        self.aborted = True


async def test_a_response_that_fails_to_send_is_replaced_by_a_500_not_left_unanswered(app, caplog):
    from pynecktie.request import ConnInfo, Request

    @app.get("/")
    def handler(request):
        return text("fine")

    request = Request(app, "GET", b"/", "1.1", [(b"host", b"a")], ConnInfo())
    app.match(request)
    sink = _FailingOnceSink()
    await app.handle(request, sink)  # must not raise: the carrier's task would die with nothing sent
    assert sink.sent == [(500, b"500 Internal Server Error\n")] and not sink.aborted
    assert "Could not send the response" in caplog.text
