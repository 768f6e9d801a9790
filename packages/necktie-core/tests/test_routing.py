"""Routing: typed parameters, methods, slashes, versions, hosts, names, automatic HEAD/OPTIONS, 405."""

from __future__ import annotations

import uuid

import pytest
from pynecktie import Blueprint, Necktie
from pynecktie.exceptions import MethodNotAllowed, NotFound
from pynecktie.response import json, text
from pynecktie.routing import Route, Router, URLBuildError


def echo(request, **params):
    return json({k: repr(v) for k, v in params.items()})


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    ("/n/<id:int>", "/n/42", {"id": "42"}),
    ("/n/<id:int>", "/n/-7", {"id": "-7"}),
    ("/s/<name:str>", "/s/bob", {"name": "'bob'"}),
    ("/s/<name>", "/s/al ice", {"name": "'al ice'"}),
    ("/f/<ratio:float>", "/f/1.5", {"ratio": "1.5"}),
    ("/p/<tail:path>", "/p/a/b/c.txt", {"tail": "'a/b/c.txt'"}),
    ("/u/<uid:uuid>", "/u/12345678-1234-5678-1234-567812345678",
     {"uid": repr(uuid.UUID("12345678-1234-5678-1234-567812345678"))}),
    ("/g/<slug:slug>", "/g/hello-world-2", {"slug": "'hello-world-2'"}),
    ("/r/<code:[A-Z]{3}>", "/r/EUR", {"code": "'EUR'"}),
    ("/x/<a:int>/y/<b>", "/x/1/y/two", {"a": "1", "b": "'two'"}),
    ("/file-<name:alpha>.txt", "/file-abc.txt", {"name": "'abc'"}),
])
async def test_typed_parameters_are_converted(app, call, pattern, path, expected):
    app.route(pattern)(echo)
    result = await call(app, "GET", path)
    assert result.status == 200, result.body
    import orjson
    assert orjson.loads(result.body) == expected


@pytest.mark.parametrize(("pattern", "path"), [
    ("/n/<id:int>", "/n/abc"),
    ("/n/<id:int>", "/n/%D9%A5"),     # a non-ASCII digit (٥) is not an int
    ("/n/<id:int>", "/n/1/2"),
    ("/f/<ratio:float>", "/f/1.5.2"),
    ("/u/<uid:uuid>", "/u/not-a-uuid"),
    ("/g/<slug:slug>", "/g/Not_A_Slug"),
    ("/r/<code:[A-Z]{3}>", "/r/EURO"),
    ("/s/<name>", "/s/"),
    ("/p/<tail:path>", "/p/"),
])
async def test_values_a_type_refuses_are_404(app, call, pattern, path):
    app.route(pattern, strict_slashes=True)(echo)
    assert (await call(app, "GET", path)).status == 404


async def test_more_specific_patterns_win_regardless_of_order(app, call):
    @app.get("/items/<name>")
    def by_name(request, name):
        return text(f"name:{name}")

    @app.get("/items/<id:int>")
    def by_id(request, id):
        return text(f"id:{id}")

    @app.get("/items/special")
    def special(request):
        return text("static")

    assert (await call(app, "GET", "/items/5")).text == "id:5"
    assert (await call(app, "GET", "/items/five")).text == "name:five"
    assert (await call(app, "GET", "/items/special")).text == "static"


async def test_several_methods_and_405_with_allow(app, call):
    @app.route("/thing", methods=["GET", "POST"])
    def thing(request):
        return text(request.method)

    assert (await call(app, "POST", "/thing")).text == "POST"
    result = await call(app, "DELETE", "/thing")
    assert result.status == 405
    assert result.headers["Allow"] == "GET, HEAD, OPTIONS, POST"


async def test_405_only_when_no_pattern_serves_the_method(app, call):
    @app.get("/u/<id:int>")
    def get_user(request, id):
        return text("get")

    @app.post("/u/<name>")
    def post_user(request, name):
        return text("post")

    assert (await call(app, "POST", "/u/5")).text == "post"
    result = await call(app, "DELETE", "/u/5")
    assert result.status == 405
    assert "GET" in result.headers["Allow"]


async def test_automatic_head_and_options(app, call):
    @app.get("/page")
    def page(request):
        return text("body", headers={"X-Kind": "page"})

    head = await call(app, "HEAD", "/page")
    assert head.status == 200 and head.headers["X-Kind"] == "page"
    options = await call(app, "OPTIONS", "/page")
    assert options.status == 204
    assert options.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert (await call(app, "OPTIONS", "*")).status == 204


async def test_explicit_options_handler_wins(app, call):
    @app.options("/cors")
    def cors(request):
        return text("mine")

    @app.get("/cors")
    def get(request):
        return text("get")

    assert (await call(app, "OPTIONS", "/cors")).text == "mine"


async def test_automatic_options_runs_middleware(app, call):
    @app.get("/m")
    def m(request):
        return text("x")

    @app.on_response
    def cors(request, response):
        response.headers["Access-Control-Allow-Origin"] = "*"

    result = await call(app, "OPTIONS", "/m")
    assert result.headers["Access-Control-Allow-Origin"] == "*"


async def test_strict_slashes(call):
    app = Necktie("slashes")

    @app.get("/loose")
    def loose(request):
        return text("loose")

    @app.get("/strict", strict_slashes=True)
    def strict(request):
        return text("strict")

    assert (await call(app, "GET", "/loose/")).text == "loose"
    assert (await call(app, "GET", "/strict")).text == "strict"
    assert (await call(app, "GET", "/strict/")).status == 404
    strict_app = Necktie("strict-app", strict_slashes=True)
    strict_app.get("/a")(lambda request: text("a"))
    assert (await call(strict_app, "GET", "/a/")).status == 404


async def test_version_prefixes(app, call):
    app.get("/items", version=1)(lambda request: text("v1"))
    app.get("/items", version="v2")(lambda request: text("v2"))
    app.get("/other", version=3, version_prefix="/api/v")(lambda request: text("v3"))
    bp = Blueprint("bp", url_prefix="/bp", version=4)
    bp.get("/x")(lambda request: text("v4"))
    app.blueprint(bp)
    assert (await call(app, "GET", "/v1/items")).text == "v1"
    assert (await call(app, "GET", "/v2/items")).text == "v2"
    assert (await call(app, "GET", "/api/v3/other")).text == "v3"
    assert (await call(app, "GET", "/v4/bp/x")).text == "v4"
    assert (await call(app, "GET", "/items")).status == 404


async def test_host_routes(app, call):
    @app.get("/", host="example.com")
    def main(request):
        return text("main")

    @app.get("/", host=["api.example.com", "API2.example.com"])
    def api(request):
        return text("api")

    @app.get("/")
    def fallback(request):
        return text("any")

    assert (await call(app, "GET", "/", {"Host": "example.com"})).text == "main"
    assert (await call(app, "GET", "/", {"Host": "Example.COM:8000"})).text == "main"
    assert (await call(app, "GET", "/", {"Host": "api.example.com"})).text == "api"
    assert (await call(app, "GET", "/", {"Host": "api2.example.com"})).text == "api"
    assert (await call(app, "GET", "/", {"Host": "other.org"})).text == "any"
    app.post("/form")(lambda request: text("any-host post"))
    app.get("/form", host="example.com")(lambda request: text("host get"))
    assert (await call(app, "POST", "/form", {"Host": "example.com"})).text == "any-host post"
    assert (await call(app, "GET", "/form", {"Host": "example.com"})).text == "host get"
    refused = await call(app, "PUT", "/form", {"Host": "example.com"})
    assert refused.status == 405 and refused.headers["Allow"] == "GET, HEAD, OPTIONS"


async def test_url_for(app, call):
    @app.get("/users/<id:int>/posts/<slug:slug>")
    def post(request, id, slug):
        return text(request.url_for("post", id=id, slug=slug))

    app.get("/files/<tail:path>", name="files")(lambda request, tail: text(tail))
    assert app.url_for("post", id=3, slug="hi-there") == "/users/3/posts/hi-there"
    with_query = app.url_for("post", id=3, slug="a", page=2, tag=["x", "y z"])
    assert with_query == "/users/3/posts/a?page=2&tag=x&tag=y+z"
    assert app.url_for("post", id=3, slug="a", _anchor="top") == "/users/3/posts/a#top"
    assert app.url_for("files", tail="a b/c.txt") == "/files/a%20b/c.txt"
    assert (app.url_for("post", id=1, slug="s", _external=True, _server="example.com", _scheme="https")
            == "https://example.com/users/1/posts/s")
    app.config.SERVER_NAME = "srv.example"
    assert app.url_for("files", tail="x", _external=True) == "http://srv.example/files/x"
    assert (await call(app, "GET", "/users/7/posts/ok")).text == "/users/7/posts/ok"
    with pytest.raises(URLBuildError):
        app.url_for("post", id="seven", slug="ok")
    with pytest.raises(URLBuildError):
        app.url_for("post", id=1)
    with pytest.raises(URLBuildError):
        app.url_for("nope")


def test_duplicate_method_at_same_path_is_refused():
    router = Necktie("dup")
    router.get("/a")(lambda request: text(""))
    with pytest.raises(ValueError):
        router.route("/a", methods=["GET"], name="other")(lambda request: text(""))


def test_bad_regex_fails_at_registration():
    app = Necktie("bad")
    with pytest.raises(ValueError):
        app.get("/x/<v:[a-z>")(lambda request, v: text(v))


def test_router_with_thousands_of_routes_finds_each():
    app = Necktie("many")
    handler = lambda request, **kw: text("")  # noqa: E731
    for i in range(2000):
        app.route(f"/static{i}/page", name=f"s{i}")(handler)
        app.route(f"/api/res{i}/<id:int>", name=f"d{i}")(handler)
        app.route(f"/<tenant>/res{i}/<id:int>/detail", name=f"t{i}")(handler)
    router: Router = app.router
    for i in (0, 999, 1999):
        assert router.resolve("GET", f"/static{i}/page")[0].name == f"s{i}"
        route, params = router.resolve("GET", f"/api/res{i}/{i}")
        assert route.name == f"d{i}" and params == {"id": i}
        route, params = router.resolve("GET", f"/acme/res{i}/5/detail")
        assert route.name == f"t{i}" and params == {"tenant": "acme", "id": 5}
    with pytest.raises(NotFound):
        router.resolve("GET", "/api/res5/notint")
    with pytest.raises(MethodNotAllowed):
        router.resolve("POST", "/static5/page")


async def test_regexes_with_their_own_groups_and_tails_after_path(app, call):
    app.get("/img/<name:(small|large)>-<n:int>.png")(echo)
    app.get("/repo/<tail:path>/raw")(echo)
    import orjson
    assert orjson.loads((await call(app, "GET", "/img/small-3.png")).body) == {"name": "'small'", "n": "3"}
    assert orjson.loads((await call(app, "GET", "/repo/a/b/raw")).body) == {"tail": "'a/b'"}
    assert (await call(app, "GET", "/img/medium-3.png")).status == 404


def test_router_stays_quick_to_build_and_search():
    """6,000 routes register in well under the time a test may take, and leading parameters don't scan."""
    app = Necktie("big")
    handler = lambda request, **kw: text("")  # noqa: E731
    for i in range(2000):
        app.route(f"/s{i}/page", name=f"a{i}")(handler)
        app.route(f"/<tenant>/r{i}/<id:int>/detail", name=f"b{i}")(handler)
        app.route(f"/<tenant>/<kind>/x{i}", name=f"c{i}")(handler)
    root = app.router._tries[None]
    # all the leading-parameter patterns share one edge: a lookup follows literal segments below it
    assert len(root.edges) == 1
    assert app.router.resolve("GET", "/acme/r1999/5/detail")[1] == {"tenant": "acme", "id": 5}
    assert app.router.resolve("GET", "/acme/widgets/x7")[1] == {"tenant": "acme", "kind": "widgets"}


async def test_class_based_view_with_several_methods(app, call):
    from pynecktie.views import HTTPMethodView

    class Items(HTTPMethodView):
        def get(self, request):
            return text("list")

        async def post(self, request):
            return text("created", status=201)

    app.add_route(Items.as_view(), "/items")
    app.route("/single", methods="PUT")(lambda request: text("put"))
    assert (await call(app, "GET", "/items")).text == "list"
    assert (await call(app, "POST", "/items")).status == 201
    assert (await call(app, "OPTIONS", "/items")).headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert (await call(app, "PUT", "/single")).text == "put"
    assert app.url_for("Items") == "/items"
    with pytest.raises(ValueError):  # the same name at another path is refused by the router
        app.router.add(Route(path="/elsewhere", methods=frozenset({"GET"}), handler=echo, name="Items"))


# -- parameter types of the app's own -----------------------------------------------------------------------
class Color:
    """A value object a custom type converts to (and url_for renders back)."""

    def __init__(self, hex_digits: str) -> None:
        self.hex = hex_digits.lower()

    def __repr__(self) -> str:
        return f"Color({self.hex})"


async def test_registered_type_converts_and_refuses(app, call):
    def hex_color(value: str) -> Color:
        if value == "000000":
            raise ValueError("black is not a color here")
        return Color(value)

    app.router.register_type("color", r"[0-9a-fA-F]{6}", hex_color, to_string=lambda c: c.hex)
    app.get("/paint/<c:color>/<n:int>")(echo)
    import orjson
    assert orjson.loads((await call(app, "GET", "/paint/FF8800/2")).body) == {"c": "Color(ff8800)", "n": "2"}
    assert (await call(app, "GET", "/paint/FF88/2")).status == 404       # the regex refuses it
    assert (await call(app, "GET", "/paint/FF8800x/2")).status == 404    # the whole segment must match
    assert (await call(app, "GET", "/paint/000000/2")).status == 404     # convert raised ValueError
    assert app.url_for("echo", c=Color("ABCDEF"), n=3) == "/paint/abcdef/3"
    with pytest.raises(URLBuildError):
        app.url_for("echo", c=Color("nothex"), n=3)


async def test_registered_type_in_mixed_segments_tails_and_blueprints(app, call):
    app.router.register_type("ver", r"v[0-9]+", lambda v: int(v[1:]))
    app.get("/pkg/<name:alpha>-<version:ver>.tar")(echo)
    app.get("/docs/<version:ver>/<page:path>")(echo)
    bp = Blueprint("bp", url_prefix="/bp")
    bp.get("/<version:ver>")(echo)
    app.blueprint(bp)
    import orjson
    package = orjson.loads((await call(app, "GET", "/pkg/necktie-v12.tar")).body)
    assert package == {"name": "'necktie'", "version": "12"}
    assert orjson.loads((await call(app, "GET", "/docs/v3/a/b")).body) == {"version": "3", "page": "'a/b'"}
    assert orjson.loads((await call(app, "GET", "/bp/v7")).body) == {"version": "7"}
    assert (await call(app, "GET", "/bp/7")).status == 404


async def test_registered_type_rank_orders_competing_patterns(app, call):
    app.router.register_type("even", r"-?[0-9]*[02468]", int, rank=0)  # tried before int (rank 1)
    app.router.register_type("word", r"[a-z]+", rank=6)  # tried after str (rank 5)
    app.get("/n/<v:int>", name="as_int")(lambda request, v: text(f"int {v}"))
    app.get("/n/<v:even>", name="as_even")(lambda request, v: text(f"even {v}"))
    app.get("/w/<v:word>", name="as_word")(lambda request, v: text(f"word {v}"))
    app.get("/w/<v>", name="as_str")(lambda request, v: text(f"str {v}"))
    assert (await call(app, "GET", "/n/4")).text == "even 4"
    assert (await call(app, "GET", "/n/5")).text == "int 5"
    assert (await call(app, "GET", "/w/abc")).text == "str abc"


def test_register_type_refusals_and_isolation():
    app = Necktie("types")
    with pytest.raises(ValueError, match="exists already"):
        app.router.register_type("int", r"[0-9]+")
    with pytest.raises(ValueError, match="identifier"):
        app.router.register_type("two words", r"x")
    with pytest.raises(ValueError, match="invalid regex"):
        app.router.register_type("broken", r"[a-")
    app.get("/r/<v:abc>")(echo)  # "abc" is a regex here (it matches the text abc)...
    with pytest.raises(ValueError, match="already use 'abc' as a regex"):
        app.router.register_type("abc", r"[0-9]+")  # ...so it cannot become a type afterwards
    app.router.register_type("digits", r"[0-9]+")
    with pytest.raises(ValueError, match="exists already"):
        app.router.register_type("digits", r"[0-9]+")
    other = Necktie("other")
    other.get("/d/<v:digits>")(echo)  # another app's router: "digits" is only a regex (the literal text)
    assert other.router.resolve("GET", "/d/digits")[1] == {"v": "digits"}
    with pytest.raises(NotFound):
        other.router.resolve("GET", "/d/123")


def test_each_pattern_is_parsed_once(monkeypatch):
    """A route (and its trailing-slash twin) costs one parse of its pattern's syntax."""
    from pynecktie import patterns, routing

    calls = []
    real = patterns.parse
    monkeypatch.setattr(routing, "parse", lambda path, types: calls.append(path) or real(path, types))
    app = Necktie("once")
    app.get("/a/<x:int>/b/<y>")(echo)
    app.get("/c/<rest:path>/")(echo)
    assert calls == ["/a/<x:int>/b/<y>", "/c/<rest:path>/"]
    assert app.router.resolve("GET", "/a/1/b/two/")[1] == {"x": 1, "y": "two"}
    assert app.router.resolve("GET", "/c/d/e")[1] == {"rest": "d/e"}
    assert app.router.resolve("GET", "/c/d/e/")[1] == {"rest": "d/e"}
