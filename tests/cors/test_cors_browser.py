"""CORS in a real browser: Debian's chromium, driven by selenium.

Server A (127.0.0.1:portA) serves a blank page; server B (another port) serves `examples/cors.py`, which
allows A's origin. The page's scripts `fetch` B: a simple GET, with and without credentials (a cookie), a
preflighted PUT with a custom header, a stream read through the body reader chunk by chunk; the same page
loaded from ``localhost:portA`` (another origin) is refused by the browser. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from pathlib import Path
from unittest import mock

import pytest
from necktie_testing import LiveServer
from pynecktie import Necktie
from pynecktie.response import html, stream, text

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60  # seconds a script may run: generous for a busy machine; each ends as soon as it is done

# Runs in the page: fetch(B + path, init) and report what the page's script could see (or the error).
FETCH = """
const [url, init, done] = arguments;
fetch(url, init).then(async (r) => done({
    status: r.status, body: await r.text(),
    total: r.headers.get("X-Total-Count"), type: r.headers.get("Content-Type")}),
  (e) => done({error: e.name}));
"""

# Reads a stream chunk by chunk; after each chunk it tells the server, which only then writes the next.
READ_PACED = """
const [url, ack, done] = arguments;
(async () => {
  const r = await fetch(url);
  const reader = r.body.getReader(), decoder = new TextDecoder(), chunks = [];
  for (;;) {
    const {done: end, value} = await reader.read();
    if (end) break;
    chunks.push(decoder.decode(value));
    await fetch(ack, {method: "POST"});
  }
  return {status: r.status, chunks};
})().then(done, (e) => done({error: String(e)}));
"""


def page_app() -> Necktie:
    app = Necktie("page")
    app.get("/")(lambda request: html("<!DOCTYPE html><title>page</title><p>the page</p>"))
    return app


def api_app(page_origin: str) -> tuple[Necktie, list[tuple[str, str, int]]]:
    """examples/cors.py allowing *page_origin*, with a log of what it answered and a paced stream."""
    with mock.patch.dict(os.environ, {"FRONTEND_ORIGIN": page_origin}):
        spec = importlib.util.spec_from_file_location("cors_browsed", ROOT / "examples" / "cors.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    app = module.app
    answered: list[tuple[str, str, int]] = []
    acked = asyncio.Event()

    @app.on_response
    def record(request, response):
        answered.append((request.method, request.path, response.status))

    @app.get("/api/paced")
    async def paced(request):
        async def body(response):
            for n in range(4):
                await response.write(f"chunk {n}\n")
                await asyncio.wait_for(acked.wait(), WAIT)
                acked.clear()

        return stream(body, content_type="text/plain")

    @app.post("/api/paced/ack")
    async def ack(request):
        acked.set()
        return text("ok")

    return app, answered


@pytest.fixture(scope="module")
def servers():
    with LiveServer(page_app()) as page:
        api, answered = api_app(page.url)
        with LiveServer(api) as server:
            yield page, server, answered


@pytest.fixture
def on_page(browser, servers):
    """The browser on A's page (from *origin*, A's own by default); returns a ``fetch`` runner."""
    page, api, answered = servers
    browser.set_script_timeout(WAIT)

    def load(origin: str | None = None):
        browser.get((origin or page.url) + "/")
        assert browser.title == "page"
        answered.clear()
        return lambda path, init=None: browser.execute_async_script(FETCH, api.url + path, init or {})

    return load


def test_a_simple_get_reads_the_answer_and_an_exposed_header(on_page, servers):
    fetch = on_page()
    result = fetch("/api/items")
    assert result["status"] == 200 and '"silk tie"' in result["body"]
    assert result["total"] == "2"  # exposed by CORS_EXPOSE_HEADERS: readable by the script
    assert servers[2] == [("GET", "/api/items", 200)]  # a simple request: no preflight


def test_credentials_send_the_cookie_only_when_asked(on_page):
    fetch = on_page()
    assert fetch("/api/login", {"method": "POST", "credentials": "include"})["status"] == 200
    assert fetch("/api/me", {"credentials": "include"})["body"] == '{"user":"ada"}'
    assert fetch("/api/me")["body"] == '{"user":null}'  # cross-origin fetches send no cookie by default
    assert fetch("/api/me", {"credentials": "omit"})["body"] == '{"user":null}'
    # The catalogue answers "*" without credentials: a credentialed call to it is refused by the browser.
    assert fetch("/public/catalogue")["status"] == 200
    assert fetch("/public/catalogue", {"credentials": "include"}) == {"error": "TypeError"}


def test_a_put_with_a_custom_header_is_preflighted(on_page, servers):
    fetch = on_page()
    result = fetch("/api/items/2", {
        "method": "PUT", "body": '{"name": "tweed tie"}',
        "headers": {"Content-Type": "application/json", "X-Request-Token": "t0ken"}})
    assert result["status"] == 200 and result["body"] == '{"id":2,"name":"tweed tie"}'
    assert servers[2] == [("OPTIONS", "/api/items/2", 204), ("PUT", "/api/items/2", 200)]
    # A header CORS_HEADERS does not allow: the preflight is refused, and the PUT never sent.
    servers[2].clear()
    refused = fetch("/api/items/2", {"method": "PUT", "body": "{}", "headers": {"X-Debug": "1"}})
    assert refused == {"error": "TypeError"}
    assert servers[2] == [("OPTIONS", "/api/items/2", 403)]


def test_a_stream_is_read_chunk_by_chunk(browser, on_page, servers):
    on_page()
    api = servers[1]
    result = browser.execute_async_script(READ_PACED, api.url + "/api/paced", api.url + "/api/paced/ack")
    assert result == {"status": 200, "chunks": [f"chunk {n}\n" for n in range(4)]}


def test_another_origin_is_blocked_by_the_browser(on_page, servers):
    page = servers[0]
    fetch = on_page(page.url.replace("127.0.0.1", "localhost"))  # the same page, another origin
    assert fetch("/api/items") == {"error": "TypeError"}
    assert servers[2] == [("GET", "/api/items", 200)]  # answered, and withheld from the page
    servers[2].clear()
    refused = fetch("/api/items/1", {"method": "PUT", "body": "{}",
                                     "headers": {"Content-Type": "application/json"}})
    assert refused == {"error": "TypeError"}
    assert servers[2] == [("OPTIONS", "/api/items/1", 403)]  # the PUT itself never reached the server
