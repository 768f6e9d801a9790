"""The examples behind docs/{routing,middleware,errors,request,responses,static-files}.md, run as documented,
and a check that every Python block in those pages is code that exists in an example (so none can rot)."""

from __future__ import annotations

import importlib.util
import re
import sys
import textwrap
from pathlib import Path

import httpx
import orjson
import pytest
from necktie_testing import TestClient

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DOCS = ["routing.md", "middleware.md", "errors.md", "request.md", "responses.md", "static-files.md",
        "deployment.md"]


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"docs_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", DOCS)
def test_every_python_block_in_the_docs_is_in_an_example(page):
    text = (ROOT / "docs" / page).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, f"{page} shows no code"
    sources = {p.name: p.read_text() for p in EXAMPLES.glob("*.py")}
    for block in blocks:
        block = textwrap.dedent(block).strip()
        assert any(block in source for source in sources.values()), f"{page}: not in examples/:\n{block}"


def test_routing_example():
    with TestClient(load("routing").app) as client:
        assert client.get("/users/42").json() == {"id": 42, "type": "int"}
        assert client.get("/users/abc").status_code == 404
        assert client.get("/tags/fast-web").text == "tag fast-web"
        assert client.get("/files/a/b/c.txt").text == "file a/b/c.txt"
        assert client.get("/currency/EUR").text == "currency EUR"
        assert client.get("/currency/euro").status_code == 404
        day = client.get("/calendar/2026-12-05").json()
        assert day == {"weekday": "Saturday", "next": "/calendar/2026-12-06"}
        assert client.get("/calendar/2026-02-30").status_code == 404  # fromisoformat raises ValueError
        assert client.get("/calendar/tomorrow").status_code == 404  # the pattern refuses it
        assert client.post("/items").text == "POST items"
        head = client.head("/items")
        assert head.status_code == 200 and head.content == b""
        options = client.options("/items")
        assert options.status_code == 204 and options.headers["allow"] == "GET, HEAD, OPTIONS, POST"
        not_allowed = client.delete("/items")
        assert not_allowed.status_code == 405 and not_allowed.headers["allow"] == "GET, HEAD, OPTIONS, POST"
        assert client.get("/exact").text == "exact" and client.get("/exact/").status_code == 404
        assert (client.get("/v1/status").text, client.get("/v2/status").text) == ("v1", "v2")
        assert client.get("/", headers={"Host": "api.example.com"}).text == "api"
        assert client.get("/").text == "home"
        assert client.get("/posts/7").text == "/posts/7?highlight=yes"
        assert client.get("/shop/cart").text == "cart at /shop/cart"
        assert client.get("/store/cart").text == "cart at /store/cart"


def test_middleware_example():
    module = load("middleware")
    with TestClient(module.app) as client:
        assert module.app.ctx.started_at > 0
        denied = client.get("/private/profile")
        assert (denied.status_code, denied.text) == (401, "log in first")
        assert denied.headers["x-handled-by"] == "necktie" and denied.headers["cache-control"] == "no-store"
        auth = {"Authorization": "Bearer secret-token"}
        assert client.get("/private/profile", headers=auth).text == "hello ann"
        streamed = client.get("/private/countdown", headers=auth)
        assert streamed.text == "3\n2\n1\n" and streamed.headers["cache-control"] == "no-store"
        assert client.get("/admin/").text == "admins only"
        assert client.get("/admin/", headers=auth).text == "dashboard"
    assert module.app.ctx.tokens == {}  # after_server_stop ran


def test_errors_example():
    with TestClient(load("errors").app) as client:
        missing = client.get("/articles/2", headers={"Accept": "application/json"})
        assert missing.status_code == 404
        assert missing.json() == {"description": "Not Found", "status": 404, "message": "No article 2"}
        assert client.get("/premium").json()["plans"] == ["monthly", "yearly"]
        crash = client.get("/crash", headers={"Accept": "text/html"})
        assert crash.status_code == 500 and "<h1>" in crash.text
        assert "hunter2" not in crash.text and "Traceback" not in crash.text
        assert client.get("/api/secret").json() == {"error": "forbidden", "detail": "not for you"}
        assert client.get("/nowhere").text.startswith("404")


def test_request_example():
    module = load("request_parsing")
    with TestClient(module.app) as client:
        found = client.get("/search?q=ties&tag=silk&tag=wool&empty=").json()
        assert found == {"q": "ties", "tags": ["silk", "wool"],
                         "pairs": [["q", "ties"], ["tag", "silk"], ["tag", "wool"], ["empty", ""]]}
        assert client.post("/orders", json={"items": [1, 2, 3]}).status_code == 201
        bad = client.post("/orders", content=b'{"items": [1,', headers={"Content-Type": "application/json"})
        assert bad.status_code == 400
        profile = client.post("/profile", data={"name": "Ann", "lang": ["py", "rs"]},
                              files={"avatar": ("me.png", b"\x89PNG", "image/png")}).json()
        assert profile == {"name": "Ann", "langs": ["py", "rs"],
                           "avatar": {"name": "me.png", "type": "image/png", "size": 4}}
        who = client.get("/whoami/me?x=1", headers={"Cookie": "theme=dark", "User-Agent": "probe",
                                                    "X-Request-ID": "r-1"}).json()
        assert who["path"] == "/whoami/me" and who["query_string"] == "x=1"
        assert who["match_info"] == {"section": "me"} and who["cookie"] == "dark"
        assert who["agents"] == ["probe"] and who["id"] == "r-1" and who["ip"] == "127.0.0.1"
        assert who["url"].endswith("/whoami/me?x=1") and who["scheme"] == "http"
    with TestClient(module.proxied) as client:
        proxy_headers = {"X-Forwarded-For": "6.6.6.6, 203.0.113.5", "X-Forwarded-Proto": "https",
                         "X-Forwarded-Host": "shop.example"}
        seen = client.get("/", headers=proxy_headers).json()
        assert seen == {"client_ip": "203.0.113.5", "scheme": "https", "host": "shop.example"}


def test_responses_example():
    module = load("responses")
    report = module.REPORT.read_bytes()
    with TestClient(module.app) as client:
        created = client.get("/json")
        assert (created.status_code, created.json(), created.headers["x-version"]) == (201, {"ok": True}, "1")
        assert client.get("/json-sorted").content == b'{"a":2,"b":1}'
        assert client.get("/html").headers["content-type"] == "text/html; charset=utf-8"
        assert client.get("/raw").headers["content-type"] == "image/png"
        assert client.delete("/things/3").status_code == 204
        moved = client.get("/old", follow_redirects=False)
        assert (moved.status_code, moved.headers["location"]) == (301, "/text")
        download = client.get("/download")
        assert download.content == report
        assert download.headers["content-disposition"] == 'attachment; filename="report-2026.csv"'
        assert download.headers["cache-control"] == "public, max-age=3600"
        assert download.headers["content-type"] == "text/csv; charset=utf-8"
        part = client.get("/report", headers={"Range": "bytes=0-3"})
        assert (part.status_code, part.content) == (206, b"date")
        etag = client.get("/report").headers["etag"]
        assert client.get("/report", headers={"If-None-Match": etag}).status_code == 304
        assert client.get("/report-stream").content == report
        cookie = client.post("/login").headers["set-cookie"]
        assert cookie == "session=abc123; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax"


def test_static_files_example():
    module = load("static_files")
    public = module.PUBLIC
    with TestClient(module.app) as client:
        assert client.get("/static/css/site.css").content == (public / "css" / "site.css").read_bytes()
        assert client.get("/static/").content == (public / "index.html").read_bytes()
        assert client.get("/static/css/").status_code == 404  # no listing
        assert client.get("/favicon.ico").content == (public / "favicon.ico").read_bytes()
        assert client.get("/static/css/site.css").headers["cache-control"] == "public, max-age=300"
        escaped = client.send(httpx.Request("GET", client.base_url.join("/static/%2e%2e/static_files.py")))
        assert escaped.status_code == 404
    assert module.app.url_for("static", filename="css/site.css") == "/static/css/site.css"
    assert orjson.loads(b"{}") == {}
