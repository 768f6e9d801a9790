"""Response helpers, cookies, and file responses through the generic (chunked) sender."""

from __future__ import annotations

import os
import time
from email.utils import formatdate

import orjson
import pytest
from pynecktie.exceptions import RangeNotSatisfiable
from pynecktie.files import content_disposition, guess_type, parse_range
from pynecktie.response import (
    FileResponse,
    empty,
    file,
    file_stream,
    html,
    json,
    raw,
    redirect,
    stream,
    text,
)


async def test_helpers_set_body_status_and_type(app, call):
    class Page:
        def __html__(self):
            return "<b>page</b>"

    app.get("/json")(lambda request: json({"a": 1, "é": [True, None]}, status=201))
    app.get("/dumps")(lambda request: json({"a": 1}, dumps=lambda obj: "custom"))
    app.get("/html")(lambda request: html(Page()))
    app.get("/text")(lambda request: text("héllo", headers={"X-A": "b"}))
    app.get("/raw")(lambda request: raw(b"\x00\x01"))
    app.get("/empty")(lambda request: empty())
    app.get("/redirect")(lambda request: redirect("/to?a=b c"))
    cases = {
        "/json": (201, "application/json", '{"a":1,"é":[true,null]}'.encode()),
        "/dumps": (200, "application/json", b"custom"),
        "/html": (200, "text/html; charset=utf-8", b"<b>page</b>"),
        "/text": (200, "text/plain; charset=utf-8", "héllo".encode()),
        "/raw": (200, "application/octet-stream", b"\x00\x01"),
        "/empty": (204, None, b""),
        "/redirect": (302, "text/html; charset=utf-8", b""),
    }
    for path, (status, content_type, body) in cases.items():
        result = await call(app, "GET", path)
        assert (result.status, result.content_type, result.body) == (status, content_type, body), path
    assert (await call(app, "GET", "/redirect")).headers["Location"] == "/to?a=b%20c"
    assert (await call(app, "GET", "/text")).headers["X-A"] == "b"


def test_json_encodes_pydantic_models():
    from pydantic import BaseModel

    class User(BaseModel):
        name: str

    assert orjson.loads(json({"user": User(name="ann")}).body) == {"user": {"name": "ann"}}


def test_cookies_have_secure_defaults_and_reject_injection():
    response = text("x")
    response.add_cookie("session", "a b;c")
    response.add_cookie("pref", "dark", secure=False, httponly=False, samesite="strict", max_age=60)
    cookies = response.headers.getall("Set-Cookie")
    assert cookies[0] == "session=a%20b%3Bc; Path=/; Secure; HttpOnly; SameSite=Lax"
    assert cookies[1] == "pref=dark; Path=/; Max-Age=60; SameSite=Strict"
    response.delete_cookie("session")
    assert "Max-Age=0" in response.headers.getall("Set-Cookie")[-1]
    for bad in ({"key": "a;b"}, {"key": "a\r\nX: y"}, {"key": "ok", "path": "/\r\nX: y"},
                {"key": "ok", "domain": "a;b"}, {"key": "ok", "samesite": "sometimes"},
                {"key": "ok", "samesite": "None", "secure": False}):
        with pytest.raises(ValueError):
            response.add_cookie(value="v", **bad)


async def test_streamed_response(app, call):
    @app.get("/")
    async def handler(request):
        async def body(response):
            await response.write("a")
            response.write(b"b")
        return stream(body, content_type="text/csv")

    result = await call(app, "GET", "/")
    assert result.streamed and result.ended and result.body == b"ab" and result.content_type == "text/csv"


def test_range_parsing():
    assert parse_range("bytes=0-9", 100) == (0, 10)
    assert parse_range("bytes=90-", 100) == (90, 10)
    assert parse_range("bytes=-10", 100) == (90, 10)
    assert parse_range("bytes=-500", 100) == (0, 100)
    assert parse_range("bytes=50-1000", 100) == (50, 50)
    for ignored in ("bytes=5-2", "bytes=0-1,5-6", "items=0-1", "bytes=x-", "bytes=-", "bytes= 1 - 2 3"):
        assert parse_range(ignored, 100) is None, ignored
    assert parse_range("bytes=1-" + "9" * 30, 100) == (1, 99)
    assert parse_range("BYTES = 1-2", 100) == (1, 2)
    for bad in ("bytes=100-", "bytes=-0", "bytes=200-300", "bytes=" + "9" * 30 + "-", "bytes=100-,200-"):
        with pytest.raises(RangeNotSatisfiable) as info:
            parse_range(bad, 100)
        assert info.value.headers["Content-Range"] == "bytes */100"


def test_mime_types_and_download_names():
    assert guess_type("a.css") == "text/css; charset=utf-8"
    assert guess_type("a.png") == "image/png"
    assert guess_type("noext") == "application/octet-stream"
    assert content_disposition("report.pdf") == 'attachment; filename="report.pdf"'
    assert content_disposition('naïve "x".txt') == (
        "attachment; filename=\"na_ve _x_.txt\"; filename*=UTF-8''na%C3%AFve%20%22x%22.txt")


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data.txt"
    path.write_bytes(bytes(range(256)) * 40)  # 10,240 bytes
    return path


async def test_file_both_awaited_and_not(app, call, data_file):
    @app.get("/plain")
    def plain(request):
        return file(data_file)

    @app.get("/awaited")
    async def awaited(request):
        return await file(data_file, filename="d.txt", max_age=60)

    @app.get("/stream")
    async def streamed(request):
        return file_stream(data_file, chunk_size=1000)

    expected = data_file.read_bytes()
    for path in ("/plain", "/awaited", "/stream"):
        result = await call(app, "GET", path)
        assert result.status == 200 and result.body == expected, path
        assert result.headers["Content-Length"] == "10240"
        assert result.content_type == "text/plain; charset=utf-8"
        assert result.response.file is None  # closed once sent
    result = await call(app, "GET", "/awaited")
    assert result.headers["Content-Disposition"] == 'attachment; filename="d.txt"'
    assert result.headers["Cache-Control"] == "public, max-age=60"


async def test_file_ranges_validators_and_304(app, call, data_file):
    app.get("/f")(lambda request: file(data_file))
    whole = await call(app, "GET", "/f")
    etag, last_modified = whole.headers["ETag"], whole.headers["Last-Modified"]
    assert whole.headers["Accept-Ranges"] == "bytes"
    part = await call(app, "GET", "/f", {"Range": "bytes=100-199"})
    assert part.status == 206 and part.body == data_file.read_bytes()[100:200]
    assert part.headers["Content-Range"] == "bytes 100-199/10240" and part.headers["Content-Length"] == "100"
    tail = await call(app, "GET", "/f", {"Range": "bytes=-5"})
    assert tail.body == data_file.read_bytes()[-5:]
    bad = await call(app, "GET", "/f", {"Range": "bytes=20000-"})
    assert bad.status == 416 and bad.headers["Content-Range"] == "bytes */10240"
    assert (await call(app, "GET", "/f", {"If-None-Match": etag})).status == 304
    assert (await call(app, "GET", "/f", {"If-None-Match": f'"other", W/{etag}'})).status == 304
    assert (await call(app, "GET", "/f", {"If-None-Match": '"other"'})).status == 200
    assert (await call(app, "GET", "/f", {"If-Modified-Since": last_modified})).status == 304
    old = formatdate(time.time() - 86400 * 365, usegmt=True)
    os.utime(data_file, (time.time() - 86400 * 400,) * 2)
    assert (await call(app, "GET", "/f", {"If-Modified-Since": old})).status == 304
    os.utime(data_file, None)
    assert (await call(app, "GET", "/f", {"If-Modified-Since": old})).status == 200
    assert (await call(app, "GET", "/f", {"If-Modified-Since": "garbage"})).status == 200
    new_etag = (await call(app, "GET", "/f")).headers["ETag"]
    # If-Range with a current validator honours the range; a stale one sends everything
    assert (await call(app, "GET", "/f", {"Range": "bytes=0-0", "If-Range": new_etag})).status == 206
    stale = await call(app, "GET", "/f", {"Range": "bytes=0-0", "If-Range": '"stale"'})
    assert stale.status == 200 and len(stale.body) == 10240


async def test_missing_file_is_404_and_head_sends_no_body(app, call, tmp_path):
    app.get("/missing")(lambda request: file(tmp_path / "nope.txt"))
    app.get("/dir")(lambda request: file(tmp_path))
    assert (await call(app, "GET", "/missing")).status == 404
    assert (await call(app, "GET", "/dir")).status == 404
    (tmp_path / "a.txt").write_text("abc")
    app.get("/a")(lambda request: file(tmp_path / "a.txt"))
    head = await call(app, "HEAD", "/a")  # the carrier leaves the body out of a HEAD answer
    assert head.status == 200 and head.headers["Content-Length"] == "3"
    (tmp_path / "b.bin").write_bytes(b"b" * 100_000)
    app.get("/b")(lambda request: file(tmp_path / "b.bin"))
    head = await call(app, "HEAD", "/b")  # a large file is not even read for HEAD
    assert head.status == 200 and head.body == b"" and head.headers["Content-Length"] == "100000"


async def test_response_middleware_sees_and_may_replace_a_file_response(app, call, data_file):
    app.get("/f")(lambda request: file(data_file))

    replaced: list[FileResponse] = []

    @app.on_response
    def mw(request, response):
        assert isinstance(response, FileResponse)
        if request.args.get("replace"):
            replaced.append(response)
            return text("replaced")
        if request.args.get("fail"):
            replaced.append(response)
            raise RuntimeError("middleware failed")
        response.headers["X-Seen"] = response.headers["Content-Length"]

    result = await call(app, "GET", "/f")
    assert result.headers["X-Seen"] == "10240" and len(result.body) == 10240
    assert (await call(app, "GET", "/f?replace=1")).text == "replaced"
    assert (await call(app, "GET", "/f?fail=1")).status == 500
    assert [r.file for r in replaced] == [None, None]  # the files they had opened are closed


async def test_file_response_through_the_asgi_adapter(app, data_file):
    """A carrier without send_file (here the ASGI adapter) gets the file through the chunked fallback."""
    app.get("/f")(lambda request: file(data_file))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": "/f", "raw_path": b"/f", "query_string": b"",
             "headers": [(b"host", b"x"), (b"range", b"bytes=10-19")], "client": ("1.2.3.4", 5),
             "server": ("1.2.3.4", 80)}
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 206
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert body == data_file.read_bytes()[10:20]


async def test_app_level_default_dumps(call):
    from pynecktie import Necktie
    from pynecktie.response import set_default_dumps

    try:
        app = Necktie("dumps", dumps=lambda obj: orjson.dumps(obj, option=orjson.OPT_SORT_KEYS))
        app.get("/")(lambda request: json({"b": 1, "a": 2}))
        assert (await call(app, "GET", "/")).body == b'{"a":2,"b":1}'
        assert json({"b": 1}, dumps=lambda obj: "own").body == b"own"  # an explicit dumps still wins
    finally:
        set_default_dumps(None)
    assert json({"b": 1, "a": 2}).body == b'{"b":1,"a":2}'
