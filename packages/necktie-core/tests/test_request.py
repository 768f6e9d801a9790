"""Request parsing: query, JSON, forms and uploads, cookies, headers, addresses and trusted proxy headers."""

from __future__ import annotations

import orjson
import pytest
from pynecktie import Necktie
from pynecktie.multipart import MultipartLimits, parse_form
from pynecktie.request import ConnInfo
from pynecktie.response import json, text


def capture(app: Necktie, path: str = "/", methods=("GET", "POST")):
    """Register a handler that stores the request it got in app.ctx.seen."""

    @app.route(path, methods=methods)
    def handler(request, **params):
        app.ctx.seen = request
        return text("ok")


async def test_query_args_multi_valued(app, call):
    capture(app)
    await call(app, "GET", "/?a=1&a=2&b=&c=x%20y&d=%F0%9F%91%8D")
    request = app.ctx.seen
    assert request.args.get("a") == "1" and request.args.getlist("a") == ["1", "2"]
    assert "b" not in request.args and request.get_args(keep_blank_values=True).get("b") == ""
    assert request.args.get("c") == "x y" and request.args.get("d") == "👍"
    assert request.query_args == [("a", "1"), ("a", "2"), ("b", ""), ("c", "x y"), ("d", "👍")]
    assert request.query_string == "a=1&a=2&b=&c=x%20y&d=%F0%9F%91%8D"


async def test_semicolons_do_not_split_and_field_count_is_capped(app, call):
    capture(app)
    await call(app, "GET", "/?a=1;b=2")
    assert app.ctx.seen.args == {"a": ["1;b=2"]}
    app.config.REQUEST_MAX_QUERY_FIELDS = 10
    app.get("/many")(lambda request: text(str(len(request.args))))
    result = await call(app, "GET", "/many?" + "&".join(f"k{i}=v" for i in range(50)))
    assert result.status == 400


async def test_json_body_and_malformed_json(app, call):
    @app.post("/")
    def handler(request):
        return json({"got": request.json})

    result = await call(app, "POST", "/", {"Content-Type": "application/json"}, b'{"a": [1, 2]}')
    assert orjson.loads(result.body) == {"got": {"a": [1, 2]}}
    for bad in (b"{", b'{"a": }', b"\xff\xfe", b"[1,]"):
        result = await call(app, "POST", "/", {"Content-Type": "application/json"}, bad)
        assert result.status == 400, bad
        assert b"json" in result.body.lower()
    assert orjson.loads((await call(app, "POST", "/", {}, b"")).body) == {"got": None}


async def test_urlencoded_form(app, call):
    capture(app)
    await call(app, "POST", "/", {"Content-Type": "application/x-www-form-urlencoded"},
               b"name=ann&tag=a&tag=b&empty=&sp=x+y%21")
    form = app.ctx.seen.form
    assert form.get("name") == "ann" and form.getlist("tag") == ["a", "b"]
    assert form.get("empty") == "" and form.get("sp") == "x y!"
    assert app.ctx.seen.files == {}


MULTIPART = (
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="title"\r\n\r\n'
    b"hello world\r\n"
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="doc"; filename="report.txt"\r\n'
    b"Content-Type: text/plain\r\n\r\n"
    b"line 1\r\nline 2\r\n"
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="doc"; filename="data.bin"\r\n'
    b"Content-Type: application/octet-stream\r\n\r\n"
    b"\x00\x01\x02--Xy\r\n"
    b"--XyZ--\r\n"
)


async def test_multipart_form_and_files(app, call):
    capture(app)
    await call(app, "POST", "/", {"Content-Type": 'multipart/form-data; boundary="XyZ"'}, MULTIPART)
    request = app.ctx.seen
    assert request.form == {"title": ["hello world"]}
    docs = request.files.getlist("doc")
    assert [(f.name, f.type, f.body) for f in docs] == [
        ("report.txt", "text/plain", b"line 1\r\nline 2"),
        ("data.bin", "application/octet-stream", b"\x00\x01\x02--Xy"),
    ]
    assert request.files.get("doc").name == "report.txt"


def test_multipart_form_takes_the_body_in_any_pieces():
    for size in (1, 7, 64):
        pieces = (MULTIPART[i:i + size] for i in range(0, len(MULTIPART), size))
        fields, files = parse_form(pieces, "multipart/form-data; boundary=XyZ", MultipartLimits())
        assert fields.get("title") == "hello world"
        assert [f.body for f in files.getlist("doc")] == [b"line 1\r\nline 2", b"\x00\x01\x02--Xy"]


@pytest.mark.parametrize(("content_type", "body"), [
    ("multipart/form-data", MULTIPART),                                 # no boundary
    ("multipart/form-data; boundary=XyZ", MULTIPART[:-30]),             # cut before the closing boundary
    ("multipart/form-data; boundary=XyZ", b"garbage without boundaries"),
    ("multipart/form-data; boundary=XyZ",
     b"--XyZ\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n--XyZ--\r\n"),
    ("application/x-www-form-urlencoded", b"a=\xff\xfe"),
])
async def test_malformed_forms_are_400(app, call, content_type, body):
    @app.post("/")
    def handler(request):
        return text(str(request.form))

    result = await call(app, "POST", "/", {"Content-Type": content_type}, body)
    assert result.status == 400, result.body


async def test_too_many_multipart_parts_is_413(app, call):
    app.config.MULTIPART_MAX_PARTS = 5
    part = b'--B\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n'
    app.post("/")(lambda request: text(str(len(request.form.getlist("f")))))
    assert (await call(app, "POST", "/", {"Content-Type": "multipart/form-data; boundary=B"},
                       part * 5 + b"--B--\r\n")).text == "5"
    result = await call(app, "POST", "/", {"Content-Type": "multipart/form-data; boundary=B"},
                        part * 6 + b"--B--\r\n")
    assert result.status == 413 and "more than 5" in result.text


async def test_form_on_a_stream_route_after_receive_body(app, call):
    @app.post("/up", stream=True)
    async def up(request):
        await request.receive_body()
        return text(request.form.get("a"))

    result = await call(app, "POST", "/up", {"Content-Type": "application/x-www-form-urlencoded"},
                        chunks=[b"a=he", b"llo"])
    assert result.text == "hello"

    @app.post("/forgot", stream=True)
    async def forgot(request):
        return text(str(request.form))  # the body was never read: an error, not an empty form

    result = await call(app, "POST", "/forgot", {"Content-Type": "application/x-www-form-urlencoded"},
                        chunks=[b"a=1"])
    assert result.status == 500


async def test_cookies_and_headers(app, call):
    capture(app)
    await call(app, "GET", "/", [("Cookie", 'a=1; b="two%20words"; a=ignored'), ("Cookie", "c=3"),
                                 ("X-Multi", "one"), ("x-multi", "two")])
    request = app.ctx.seen
    assert request.cookies == {"a": "1", "b": "two words", "c": "3"}
    assert request.headers["X-MULTI"] == "one" and request.headers.getall("x-Multi") == ["one", "two"]


async def test_request_properties(app, call):
    capture(app, "/items/<id:int>")
    conn = ConnInfo("192.0.2.7", 40000, "192.0.2.1", 8080, ssl=False)
    await call(app, "GET", "/items/5?x=1", {"Host": "shop.example:8080", "Content-Type": "text/plain",
                                             "X-Request-ID": "req-42"}, conn=conn)
    r = app.ctx.seen
    assert (r.ip, r.port, r.scheme, r.host) == ("192.0.2.7", 40000, "http", "shop.example:8080")
    assert (r.server_name, r.server_port) == ("shop.example", 8080)
    assert r.url == "http://shop.example:8080/items/5?x=1"
    assert (r.path, r.query_string, r.content_type) == ("/items/5", "x=1", "text/plain")
    assert r.match_info == {"id": 5} and r.id == "req-42"
    assert (r.uri_template, r.endpoint) == ("/items/<id:int>", "handler")
    await call(app, "GET", "/items/6", conn=ConnInfo("::1", 1, "::1", 443, ssl=True))
    r = app.ctx.seen
    assert r.scheme == "https" and len(r.id) == 32 and r.remote_addr == "" and r.client_ip == "::1"


async def test_absolute_form_target_gives_path_and_host(app, call):
    capture(app, "/x")
    await call(app, "GET", "http://other.example/x?q=1", {"Host": "ignored.example"})
    r = app.ctx.seen
    assert (r.path, r.host, r.args.get("q")) == ("/x", "other.example", "1")


PROXIED = [("X-Forwarded-For", "6.6.6.6, 203.0.113.9, 10.0.0.5"), ("X-Forwarded-Proto", "https"),
           ("X-Forwarded-Host", "public.example"), ("Forwarded", 'for=6.6.6.6;proto=http')]


async def test_proxy_headers_are_ignored_by_default(app, call):
    capture(app)
    await call(app, "GET", "/", [("Host", "internal:8000")] + PROXIED[:3])
    r = app.ctx.seen
    assert (r.remote_addr, r.client_ip, r.scheme, r.host) == ("", "10.0.0.1", "http", "internal:8000")


async def test_x_forwarded_honoured_per_proxies_count(app, call):
    capture(app)
    app.config.PROXIES_COUNT = 2
    await call(app, "GET", "/", [("Host", "internal:8000")] + PROXIED[:3])
    r = app.ctx.seen
    # two trusted proxies: the second entry from the right is what the outer proxy saw; 6.6.6.6 is a claim
    assert (r.remote_addr, r.client_ip, r.scheme, r.host) == ("203.0.113.9", "203.0.113.9", "https",
                                                              "public.example")
    app.config.PROXIES_COUNT = 5  # more proxies configured than entries: nothing trusted
    await call(app, "GET", "/", [("Host", "internal:8000")] + PROXIED[:1])
    assert app.ctx.seen.remote_addr == ""


async def test_forwarded_header_per_proxies_count_and_secret(app, call):
    capture(app)
    app.config.PROXIES_COUNT = 1
    await call(app, "GET", "/", [("Forwarded", 'for="_hidden", for=198.51.100.17;proto=https;host=a.example'),
                                 ("X-Forwarded-For", "1.1.1.1")])
    r = app.ctx.seen
    assert (r.remote_addr, r.scheme, r.host) == ("198.51.100.17", "https", "a.example")
    await call(app, "GET", "/", [("Forwarded", 'for="[2001:db8::1]:4711"')])
    assert (app.ctx.seen.remote_addr, app.ctx.seen.forwarded.get("port")) == ("2001:db8::1", "4711")
    app.config.PROXIES_COUNT = 0
    app.config.FORWARDED_SECRET = "s3cret"
    both = "for=9.9.9.9;secret=wrong, for=8.8.8.8;secret=s3cret;proto=https"
    await call(app, "GET", "/", [("Forwarded", both)])
    assert (app.ctx.seen.remote_addr, app.ctx.seen.scheme) == ("8.8.8.8", "https")
    await call(app, "GET", "/", [("Forwarded", "for=9.9.9.9;secret=wrong")])
    assert app.ctx.seen.remote_addr == ""


async def test_real_ip_header(app, call):
    capture(app)
    app.config.REAL_IP_HEADER = "X-Real-IP"
    await call(app, "GET", "/", [("X-Real-IP", "203.0.113.50"), ("X-Forwarded-For", "1.2.3.4")])
    assert app.ctx.seen.client_ip == "203.0.113.50"
