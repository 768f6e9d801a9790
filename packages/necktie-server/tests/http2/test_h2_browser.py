"""Twenty server-sent event streams from one page in a real browser: Debian's headless chromium, driven by
selenium, over TLS with a test CA it trusts.

Over HTTP/2 (ALPN ``h2``) all twenty streams are open at once on one connection: each stream's handler
sends a first event, then waits until all twenty are open before it sends its last, so the page can only
finish if they are. Over HTTP/1.1 the browser holds at most six connections to an origin: the same page
finishes only because each handler there waits for six (or for the last ones), and the server never sees
more than six streams at once. Nothing is timed: each side waits for the other as long as it takes.

The CA is trusted the way a user's machine would trust it: added to an NSS database (``certutil``, from
Debian's libnss3-tools) in a throw-away ``$HOME`` that chromium reads (``~/.pki/nssdb``). The browser then
checks the chain, the address and the dates as for any site; the alternative, chromium's
``--ignore-certificate-errors-spki-list``, would skip that validation for one key.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
import threading
from typing import Any

import pytest
import trustme
from necktie_testing import LiveServer
from pynecktie import Necktie
from pynecktie.response import html
from pynecktie.sse import Event, sse

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
CERTUTIL = shutil.which("certutil")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER and CERTUTIL),
    reason="needs Debian's chromium, chromium-driver and libnss3-tools (scripts/services installs them)",
)
STREAMS = 20
WAIT = 90  # seconds: generous, the machine may be busy; the wait ends as soon as the page is done
PAGE = """<!doctype html><title>streams</title><script>
window.got = {};
window.done = 0;
for (let i = 0; i < STREAMS; i++) {
  const source = new EventSource("/sse/" + i);
  window.got[i] = [];
  source.addEventListener("first", e => window.got[i].push(e.data));
  source.addEventListener("done", e => { window.got[i].push(e.data); source.close(); window.done++; });
}
</script>""".replace("STREAMS", str(STREAMS))


class Gate:
    """The streams' handlers: how many are open, the most ever open at once, and the wait for *batch* of
    them (or for every stream to have started)."""

    def __init__(self, batch: int) -> None:
        self.batch = batch
        self.lock = threading.Lock()
        self.open = self.started = self.peak = 0
        self.changed: asyncio.Condition | None = None

    async def enter(self) -> None:
        if self.changed is None:
            self.changed = asyncio.Condition()
        async with self.changed:
            with self.lock:
                self.open += 1
                self.started += 1
                self.peak = max(self.peak, self.open)
            self.changed.notify_all()
            await self.changed.wait_for(lambda: self.open >= self.batch or self.started == STREAMS)

    def leave(self) -> None:
        with self.lock:
            self.open -= 1


def streams_app(http2: bool, gate: Gate) -> Necktie:
    app = Necktie("h2-browser")
    app.config.update_config({"HTTP2": http2, "ACCESS_LOG": False})

    @app.get("/")
    async def page(request: Any) -> Any:
        return html(PAGE)

    @app.get("/sse/<i:int>")
    async def events(request: Any, i: int) -> Any:
        async def source() -> Any:
            try:
                # A reconnection is never wanted here: a stream that ended is closed by the page.
                yield Event(data=f"{i} first", event="first", retry=600_000)
                await gate.enter()
                yield Event(data=f"{i} done", event="done")
            finally:
                gate.leave()

        return sse(source(), ping=None)

    return app


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def browser(ca, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    home = tmp_path / "home"
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    certutil = [str(CERTUTIL), "-d", f"sql:{nssdb}"]
    subprocess.run([*certutil, "-N", "--empty-password"], check=True, capture_output=True, timeout=60)
    subprocess.run([*certutil, "-A", "-t", "C,,", "-n", "necktie-test-ca", "-i", str(ca_pem)], check=True,
                   capture_output=True, timeout=60)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(arg)
    service = Service(executable_path=str(DRIVER), env={**os.environ, "HOME": str(home)})
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()


def tls_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


NEXT_HOP = "return performance.getEntriesByType('navigation')[0].nextHopProtocol"


def open_page(browser: Any, url: str) -> dict[str, list[str]]:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, WAIT).until(lambda d: d.execute_script("return window.done") == STREAMS)
    got: dict[str, list[str]] = browser.execute_script("return window.got")
    return got


def test_twenty_streams_are_open_at_once_over_http2(browser, ca):
    gate = Gate(batch=STREAMS)
    with LiveServer(streams_app(True, gate), ssl=tls_context(ca)) as server:
        got = open_page(browser, f"https://127.0.0.1:{server.port}/")
        protocol = browser.execute_script(NEXT_HOP)
    assert protocol == "h2"
    assert sorted(got, key=int) == [str(i) for i in range(STREAMS)]
    for i, events in got.items():
        assert events == [f"{i} first", f"{i} done"]
    assert gate.peak == STREAMS


def test_over_http1_the_browser_holds_six_at_a_time(browser, ca):
    gate = Gate(batch=6)
    with LiveServer(streams_app(False, gate), ssl=tls_context(ca)) as server:
        got = open_page(browser, f"https://127.0.0.1:{server.port}/")
        protocol = browser.execute_script(NEXT_HOP)
    assert protocol == "http/1.1"
    assert sorted(got, key=int) == [str(i) for i in range(STREAMS)]
    assert gate.peak == 6, "chromium holds six HTTP/1.1 connections to one origin"
