"""CORS in the pipeline (pynecktie.cors) and its settings (pynecktie.cors_settings), without a socket."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError
from pynecktie import Necktie
from pynecktie.blueprints import Blueprint
from pynecktie.config import Config
from pynecktie.exceptions import ServerError
from pynecktie.response import file, stream, text

A = "https://a.example"
B = "https://b.example"
PREFLIGHT = {"Origin": A, "Access-Control-Request-Method": "PUT"}


def allowed(result) -> str | None:
    return result.headers.get("access-control-allow-origin")


# -- the settings ----------------------------------------------------------------------------------------

def test_off_by_default_and_the_defaults():
    config = Config()
    assert config.CORS_ORIGINS == []
    assert (config.CORS_METHODS, config.CORS_HEADERS, config.CORS_EXPOSE_HEADERS) == (["*"], ["*"], [])
    assert (config.CORS_CREDENTIALS, config.CORS_MAX_AGE) == (False, 600)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("*", ["*"]),
        ("https://A.example, http://localhost:8000", ["https://a.example", "http://localhost:8000"]),
        (r"^https://[a-z]+\.example$", [r"^https://[a-z]+\.example$"]),
        (re.compile(r"https://[a-z]+\.example"), [r"^https://[a-z]+\.example"]),
        (["null", "http://[::1]:8000"], ["null", "http://[::1]:8000"]),
    ],
)
def test_origins_setting_forms(value, stored):
    assert Config(CORS_ORIGINS=value).CORS_ORIGINS == stored


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("https://a.example/", "not an origin"),
        ("a.example", "not an origin"),
        ("https://a.example/path", "not an origin"),
        (["*", A], "list it alone"),
        ("^https://(", "not a valid regular expression"),
    ],
)
def test_origins_that_could_never_match_are_refused(value, says):
    with pytest.raises(ValidationError, match=re.escape(says)) as caught:
        Config(CORS_ORIGINS=value)
    assert "CORS_ORIGINS" in str(caught.value)


def test_names_are_lists_of_tokens_methods_upper_headers_lower():
    config = Config(CORS_METHODS="get, Put", CORS_HEADERS="X-Token", CORS_EXPOSE_HEADERS="X-Total-Count")
    assert (config.CORS_METHODS, config.CORS_HEADERS) == (["GET", "PUT"], ["x-token"])
    assert config.CORS_EXPOSE_HEADERS == ["X-Total-Count"]
    with pytest.raises(ValidationError, match="CORS_HEADERS"):
        Config(CORS_HEADERS=["bad header"])


def test_credentials_with_any_origin_are_refused_at_configuration_time():
    with pytest.raises(ValidationError, match='CORS_CREDENTIALS=True cannot go with CORS_ORIGINS="\\*"'):
        Config(CORS_ORIGINS="*", CORS_CREDENTIALS=True)
    config = Config(CORS_ORIGINS="*")
    with pytest.raises(ValidationError, match="CORS_CREDENTIALS"):
        config.CORS_CREDENTIALS = True
    assert config.CORS_CREDENTIALS is False  # refused: the setting keeps its value
    config.CORS_ORIGINS = [A]
    config.CORS_CREDENTIALS = True
    with pytest.raises(ValidationError, match="CORS_ORIGINS"):
        config.CORS_ORIGINS = "*"
    assert config.CORS_ORIGINS == [A]
    with pytest.raises(ValidationError, match="CORS_EXPOSE_HEADERS"):
        config.CORS_EXPOSE_HEADERS = "*"


def test_environment_variables(monkeypatch):
    monkeypatch.setenv("NECKTIE_CORS_ORIGINS", f"{A},{B}")
    monkeypatch.setenv("NECKTIE_CORS_CREDENTIALS", "true")
    config = Config()
    assert config.CORS_ORIGINS == [A, B] and config.CORS_CREDENTIALS is True


# -- actual responses ------------------------------------------------------------------------------------

async def test_off_adds_nothing(app, call):
    app.get("/")(lambda request: text("hi"))
    result = await call(app, "GET", "/", headers={"Origin": A})
    assert "access-control-allow-origin" not in result.headers and "vary" not in result.headers
    preflight = await call(app, "OPTIONS", "/", headers=PREFLIGHT)
    assert preflight.status == 204 and preflight.headers["allow"] == "GET, HEAD, OPTIONS"
    assert "access-control-allow-origin" not in preflight.headers


async def test_a_listed_origin_is_echoed_with_vary(app, call):
    app.config.CORS_ORIGINS = [A]
    app.config.CORS_EXPOSE_HEADERS = ["X-Total"]
    app.get("/")(lambda request: text("hi", headers={"X-Total": "3"}))
    result = await call(app, "GET", "/", headers={"Origin": A})
    assert allowed(result) == A
    assert result.headers["vary"] == "Origin"
    assert result.headers["access-control-expose-headers"] == "X-Total"
    assert "access-control-allow-credentials" not in result.headers
    other = await call(app, "GET", "/", headers={"Origin": B})
    assert other.status == 200 and allowed(other) is None and other.headers["vary"] == "Origin"
    assert "access-control-expose-headers" not in other.headers


async def test_without_an_origin_nothing_is_checked_and_only_a_cacheable_answer_gets_a_hint(app, call):
    app.config.CORS_ORIGINS = [A]
    app.get("/bare")(lambda request: text("hi"))
    app.get("/cached")(lambda request: text("hi", headers={"Cache-Control": "max-age=60"}))
    app.get("/file")(lambda request: file(__file__))
    bare = await call(app, "GET", "/bare")
    assert not bare.headers  # untouched: no header of its own, so the carrier keeps its fast path
    for path in ("/cached", "/file"):
        result = await call(app, "GET", path)
        assert allowed(result) is None and result.headers["vary"] == "Origin", path
    anyone = Necktie("anyone")
    anyone.config.CORS_ORIGINS = "*"
    anyone.get("/cached")(lambda request: text("hi", headers={"Cache-Control": "max-age=60"}))
    result = await call(anyone, "GET", "/cached")
    assert allowed(result) == "*" and "vary" not in result.headers


async def test_any_origin_is_a_star_without_vary(app, call):
    app.config.CORS_ORIGINS = "*"
    app.get("/")(lambda request: text("hi"))
    result = await call(app, "GET", "/", headers={"Origin": B})
    assert allowed(result) == "*" and "vary" not in result.headers


async def test_credentials_echo_the_origin(app, call):
    app.config.CORS_ORIGINS = [A]
    app.config.CORS_CREDENTIALS = True
    app.get("/")(lambda request: text("hi"))
    result = await call(app, "GET", "/", headers={"Origin": A})
    assert allowed(result) == A and result.headers["access-control-allow-credentials"] == "true"


async def test_a_regex_matches_the_whole_origin(app, call):
    app.config.CORS_ORIGINS = r"^https://[a-z]+\.example$"
    app.get("/")(lambda request: text("hi"))
    assert allowed(await call(app, "GET", "/", headers={"Origin": B})) == B
    assert allowed(await call(app, "GET", "/", headers={"Origin": B + ".evil"})) is None
    assert allowed(await call(app, "GET", "/", headers={"Origin": "http://b.example"})) is None


async def test_the_null_origin_only_when_listed(app, call):
    app.config.CORS_ORIGINS = [A]
    app.get("/")(lambda request: text("hi"))
    app.get("/sandboxed", cors={"origins": [A, "null"]})(lambda request: text("hi"))
    assert allowed(await call(app, "GET", "/", headers={"Origin": "null"})) is None
    assert allowed(await call(app, "GET", "/sandboxed", headers={"Origin": "null"})) == "null"


async def test_an_answer_that_set_its_own_allow_origin_is_left_alone(app, call):
    app.config.CORS_ORIGINS = [A]
    app.get("/")(lambda request: text("hi", headers={"Access-Control-Allow-Origin": "https://mine"}))
    result = await call(app, "GET", "/", headers={"Origin": A})
    assert result.headers.getall("access-control-allow-origin") == ["https://mine"]


async def test_vary_is_merged_with_compression(app, call):
    app.config.CORS_ORIGINS = [A]
    app.config.COMPRESSION = True
    app.get("/")(lambda request: text("x" * 1000, headers={"Vary": "Cookie"}))
    result = await call(app, "GET", "/", headers={"Origin": A, "Accept-Encoding": "gzip"})
    assert result.headers.getall("vary") == ["Cookie, Origin, Accept-Encoding"]
    assert result.headers["content-encoding"] == "gzip" and allowed(result) == A


async def test_error_pages_carry_the_headers(app, call):
    app.config.CORS_ORIGINS = [A]

    @app.get("/boom")
    async def boom(request):
        raise RuntimeError("boom")

    @app.get("/refused")
    async def refused(request):
        raise ServerError("nope")

    for method, path, status in [("GET", "/missing", 404), ("POST", "/boom", 405),
                                 ("GET", "/boom", 500), ("GET", "/refused", 500)]:
        result = await call(app, method, path, headers={"Origin": A})
        assert result.status == status
        assert allowed(result) == A and result.headers["vary"] == "Origin", (method, path)


async def test_an_error_in_response_middleware_still_carries_them(app, call):
    app.config.CORS_ORIGINS = [A]
    app.get("/")(lambda request: text("hi"))

    @app.on_response
    def broken(request, response):
        raise RuntimeError("middleware")

    result = await call(app, "GET", "/", headers={"Origin": A})
    assert result.status == 500 and allowed(result) == A


async def test_a_stream_carries_them_in_its_head(app, call):
    app.config.CORS_ORIGINS = [A]

    @app.get("/s")
    async def streamed(request):
        async def body(response):
            await response.write("one ")
            await response.write("two")

        return stream(body)

    result = await call(app, "GET", "/s", headers={"Origin": A})
    assert result.streamed and result.body == b"one two" and allowed(result) == A


async def test_a_file_carries_them(app, call):
    app.config.CORS_ORIGINS = [A]
    app.get("/f")(lambda request: file(__file__))
    result = await call(app, "GET", "/f", headers={"Origin": A})
    assert result.status == 200 and allowed(result) == A
    assert result.body.startswith(b'"""CORS in the pipeline')


# -- per blueprint and per route -------------------------------------------------------------------------

async def test_a_route_and_a_blueprint_override_the_app(app, call):
    app.config.CORS_ORIGINS = [A]
    app.get("/off", cors=False)(lambda request: text("off"))
    app.get("/b-too", cors={"origins": [A, B], "credentials": True})(lambda request: text("b"))
    bp = Blueprint("partner", url_prefix="/partner", cors={"origins": [B]})
    bp.get("/")(lambda request: text("partner"))
    bp.get("/all", cors={"origins": "*"})(lambda request: text("all"))
    closed = Blueprint("closed", url_prefix="/closed", cors=False)
    closed.get("/")(lambda request: text("closed"))
    closed.get("/open", cors=True)(lambda request: text("open"))
    app.blueprint([bp, closed])
    off = await call(app, "GET", "/off", headers={"Origin": A})
    assert allowed(off) is None and "vary" not in off.headers
    both = await call(app, "GET", "/b-too", headers={"Origin": B})
    assert allowed(both) == B and both.headers["access-control-allow-credentials"] == "true"
    assert allowed(await call(app, "GET", "/partner/", headers={"Origin": A})) is None
    assert allowed(await call(app, "GET", "/partner/", headers={"Origin": B})) == B
    assert allowed(await call(app, "GET", "/partner/all", headers={"Origin": "https://c"})) == "*"
    assert allowed(await call(app, "GET", "/closed/", headers={"Origin": A})) is None
    assert allowed(await call(app, "GET", "/closed/open", headers={"Origin": A})) == A


async def test_a_route_turns_it_on_with_the_app_off(app, call):
    app.get("/on", cors={"origins": [A]})(lambda request: text("on"))
    app.get("/plain")(lambda request: text("plain"))
    assert allowed(await call(app, "GET", "/on", headers={"Origin": A})) == A
    plain = await call(app, "GET", "/plain", headers={"Origin": A})
    assert allowed(plain) is None and "vary" not in plain.headers
    asking = {"Origin": A, "Access-Control-Request-Method": "GET"}
    preflight = await call(app, "OPTIONS", "/on", headers=asking)
    assert preflight.status == 204 and allowed(preflight) == A


@pytest.mark.parametrize(
    ("option", "says"),
    [
        ({"origins": "*", "credentials": True}, "CORS_CREDENTIALS=True cannot go with"),
        ({"origin": [A]}, "cors= takes origins, methods"),
        ({"origins": ["https://a.example/"]}, "CORS_ORIGINS"),
        ("yes", "cors= is True, False or a mapping"),
    ],
)
def test_a_bad_override_is_refused_when_the_app_is_finalized(app, option, says):
    app.get("/x", cors=option)(lambda request: text("x"))
    with pytest.raises(ValueError, match=re.escape(says)) as caught:
        app.finalize()
    assert "route '/x'" in str(caught.value)


def test_credentials_from_the_app_and_star_from_a_route_are_refused(app):
    app.config.CORS_ORIGINS = [A]
    app.config.CORS_CREDENTIALS = True
    app.get("/x", cors={"origins": "*"})(lambda request: text("x"))
    with pytest.raises(ValueError, match="CORS_CREDENTIALS=True cannot go with"):
        app.finalize()


def test_cors_true_needs_origins(app):
    app.get("/x", cors=True)(lambda request: text("x"))
    with pytest.raises(ValueError, match="CORS_ORIGINS is empty"):
        app.finalize()


# -- preflights ------------------------------------------------------------------------------------------

def _cors_app(app, **settings):
    app.config.CORS_ORIGINS = [A]
    for name, value in settings.items():
        setattr(app.config, name, value)
    seen = []

    @app.route("/items/<n:int>", methods=["GET", "PUT", "DELETE"])
    async def item(request, n):
        seen.append(request.method)
        return text(f"item {n}")

    @app.on_request
    def auth(request):
        seen.append("middleware")

    return seen


async def test_a_preflight_is_answered_from_the_router_without_handler_or_middleware(app, call):
    seen = _cors_app(app)
    result = await call(app, "OPTIONS", "/items/7",
                        headers={**PREFLIGHT, "Access-Control-Request-Headers": "X-Token, content-type"})
    assert result.status == 204 and result.body == b""
    assert allowed(result) == A
    assert result.headers["access-control-allow-methods"] == "DELETE, GET, HEAD, OPTIONS, PUT"
    assert result.headers["access-control-allow-headers"] == "x-token, content-type"
    assert result.headers["access-control-max-age"] == "600"
    assert result.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in result.headers
    assert seen == []


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"Origin": B, "Access-Control-Request-Method": "PUT"}, "origin"),
        ({"Origin": A, "Access-Control-Request-Method": "POST"}, "method"),  # not served at the path
        ({"Origin": A, "Access-Control-Request-Method": "put"}, "method"),  # methods are case-sensitive
        ({"Origin": A, "Access-Control-Request-Method": "DELETE"}, "method"),  # not in CORS_METHODS
        ({**PREFLIGHT, "Access-Control-Request-Headers": "x-token, x-other"}, "request header"),
    ],
)
async def test_a_refused_preflight_is_a_403_without_allow_headers(app, call, headers, refused):
    seen = _cors_app(app, CORS_METHODS=["GET", "PUT"], CORS_HEADERS=["X-Token"])
    result = await call(app, "OPTIONS", "/items/7", headers=headers)
    assert result.status == 403
    assert result.text == f"CORS preflight refused: {refused} not allowed\n"
    assert not [k for k in result.headers if k.lower().startswith("access-control-")]
    assert result.headers["vary"] == "Origin"
    assert seen == []


async def test_safelisted_headers_and_limited_methods(app, call):
    _cors_app(app, CORS_METHODS=["GET", "PUT"], CORS_HEADERS=["X-Token"], CORS_MAX_AGE=0)
    result = await call(app, "OPTIONS", "/items/7",
                        headers={**PREFLIGHT, "Access-Control-Request-Headers": "content-type,x-token"})
    assert result.status == 204
    assert result.headers["access-control-allow-methods"] == "GET, PUT"
    assert result.headers["access-control-max-age"] == "0"


async def test_a_plain_options_request_still_reaches_the_route(app, call):
    seen = _cors_app(app)
    result = await call(app, "OPTIONS", "/items/7", headers={"Origin": A})
    assert result.status == 204 and result.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PUT"
    assert allowed(result) == A and seen == ["middleware"]


async def test_an_explicit_options_route_sees_only_plain_options_requests(app, call):
    app.config.CORS_ORIGINS = [A]
    calls = []

    @app.route("/own", methods=["OPTIONS", "PUT"])
    async def own(request):
        calls.append(request.method)
        return text("my options", headers={"X-Mine": "1"})

    preflight = await call(app, "OPTIONS", "/own", headers=PREFLIGHT)
    assert preflight.status == 204 and allowed(preflight) == A and calls == []
    plain = await call(app, "OPTIONS", "/own", headers={"Origin": A})
    assert plain.text == "my options" and allowed(plain) == A and calls == ["OPTIONS"]


async def test_a_preflight_for_a_route_with_cors_off_is_refused(app, call):
    app.config.CORS_ORIGINS = [A]
    app.get("/x")(lambda request: text("x"))
    app.put("/x", cors=False)(lambda request: text("x"))
    result = await call(app, "OPTIONS", "/x", headers=PREFLIGHT)
    assert result.status == 403 and allowed(result) is None


async def test_credentials_in_a_preflight(app, call):
    _cors_app(app, CORS_CREDENTIALS=True)
    result = await call(app, "OPTIONS", "/items/1", headers=PREFLIGHT)
    assert result.status == 204 and allowed(result) == A
    assert result.headers["access-control-allow-credentials"] == "true"


async def test_a_preflight_with_any_origin_answers_a_star(app, call):
    app.config.CORS_ORIGINS = "*"
    app.put("/x")(lambda request: text("x"))
    result = await call(app, "OPTIONS", "/x", headers={**PREFLIGHT, "Origin": B})
    assert result.status == 204 and allowed(result) == "*" and "vary" not in result.headers


async def test_response_middleware_sees_the_preflight_answer(app, call):
    _cors_app(app)
    statuses = []

    @app.on_response
    def log(request, response):
        statuses.append(response.status)

    await call(app, "OPTIONS", "/items/1", headers=PREFLIGHT)
    assert statuses == [204]


async def test_a_preflight_to_an_unknown_path_is_a_404(app, call):
    _cors_app(app)
    result = await call(app, "OPTIONS", "/nowhere", headers=PREFLIGHT)
    assert result.status == 404 and allowed(result) == A


async def test_the_origin_header_is_found_in_any_case(app, call):
    app.config.CORS_ORIGINS = [A]
    app.get("/")(lambda request: text("hi"))
    for name in ("Origin", "origin", "ORIGIN", "oRiGiN"):
        result = await call(app, "GET", "/", headers=[("Accept", "*/*"), (name, A)])
        assert allowed(result) == A, name
