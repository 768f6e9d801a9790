"""HTTP/2 with real clients over loopback: curl (``--http2-prior-knowledge`` in cleartext, ``--http2`` over
TLS, where ALPN picks h2) and httpx with ``http2=True``, on the streaming guide's own routes both ways.

The guide's examples (``examples/request_streaming.py``, ``examples/response_streaming.py``) are served as
they are, with ``HTTP2`` turned on: the same handlers, unchanged.
"""

from __future__ import annotations

import importlib.util
import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
import trustme
from necktie_testing import LiveServer
from nt_h2 import H2Client
from pynecktie import Necktie

EXAMPLES = Path(__file__).resolve().parents[4] / "examples"
CURL = shutil.which("curl")


def example_app(name: str) -> Necktie:
    """A fresh copy of an example's app (each load builds its own)."""
    spec = importlib.util.spec_from_file_location(f"h2_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app: Necktie = module.app
    app.config.HTTP2 = True
    return app


def curl_supports_http2() -> bool:
    return CURL is not None and "HTTP2" in subprocess.run([CURL, "-V"], capture_output=True, text=True).stdout


needs_curl = pytest.mark.skipif(not curl_supports_http2(), reason="curl with HTTP/2 is not installed")


def curl(*args: str, data: bytes | None = None) -> tuple[bytes, str]:
    """Run curl; its body and the HTTP version it reports (``2`` or ``1.1``)."""
    result = subprocess.run([CURL, "-sS", "--max-time", "30", "-w", "\n%{http_version}", *args], input=data,
                            capture_output=True, timeout=60, check=True)
    body, _, version = result.stdout.rpartition(b"\n")
    return body, version.decode()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@needs_curl
def test_curl_prior_knowledge_streams_the_guides_routes_both_ways() -> None:
    with LiveServer(example_app("request_streaming")) as server:
        data = b"1234567890" * 30_000  # 300 kB: several windows, several DATA frames each way
        body, version = curl("--http2-prior-knowledge", "--data-binary", "@-", server.url + "/stream",
                             data=data)
        assert version == "2"
        assert body == data.replace(b"1", b"A")
        body, version = curl("--http2-prior-knowledge", "-X", "PUT", "--data-binary", "@-",
                             server.url + "/bp_stream", data=b"a1b1")
        assert (body, version) == (b"aAbA", "2")
    with LiveServer(example_app("response_streaming")) as server:
        assert curl("--http2-prior-knowledge", server.url + "/") == (b"foo,bar", "2")


@needs_curl
def test_curl_over_tls_gets_h2_by_alpn(ca: trustme.CA, ca_file: Path) -> None:
    with LiveServer(example_app("response_streaming"), ssl=server_context(ca)) as server:
        assert curl("--http2", "--cacert", str(ca_file), server.url + "/") == (b"foo,bar", "2")
        # A client that offers only HTTP/1.1 gets it (ALPN falls back).
        assert curl("--http1.1", "--cacert", str(ca_file), server.url + "/") == (b"foo,bar", "1.1")


@needs_curl
def test_without_the_setting_tls_offers_http1_only(ca: trustme.CA, ca_file: Path) -> None:
    app = example_app("response_streaming")
    app.config.HTTP2 = False
    with LiveServer(app, ssl=server_context(ca)) as server:
        assert curl("--http2", "--cacert", str(ca_file), server.url + "/") == (b"foo,bar", "1.1")


@needs_curl
def test_h2c_upgrade_is_not_supported_the_request_is_answered_over_http1() -> None:
    with LiveServer(example_app("response_streaming")) as server:
        # curl --http2 in cleartext asks for an upgrade to h2c: ignored (RFC 9110 §7.8), answered as HTTP/1.1.
        assert curl("--http2", server.url + "/") == (b"foo,bar", "1.1")


def test_httpx_streams_the_guides_routes_both_ways(ca: trustme.CA) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    app = example_app("request_streaming")
    with LiveServer(app, ssl=server_context(ca)) as server, \
            httpx.Client(base_url=server.url, http2=True, verify=context, timeout=30) as client:
        chunks = [b"%d1" % n * 1000 for n in range(50)]  # streamed up in pieces, streamed back as they come
        with client.stream("POST", "/stream", content=iter(chunks)) as response:
            assert response.http_version == "HTTP/2"
            received = b"".join(response.iter_bytes())
        assert received == b"".join(chunks).replace(b"1", b"A")
        response = client.post("/method_view", content=b"one1")
        assert (response.http_version, response.text) == ("HTTP/2", "one1")
        response = client.put("/bp_stream", content=b"x1" * 100_000)
        assert response.text == "xA" * 100_000


def test_a_tls_connection_over_capacity_gets_goaway_without_any_stream(ca: trustme.CA) -> None:
    app = example_app("response_streaming")
    app.config.MAX_CONNECTIONS = 1
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with LiveServer(app, ssl=server_context(ca)) as server, \
            H2Client(server.port, tls=client_context) as first:
        served = first.request("GET", "/")
        first.until(lambda: first.ended(served))
        assert first.body(served) == b"foo,bar"
        with H2Client(server.port, tls=client_context) as second:
            second.until(lambda: second.goaway() is not None)
            assert second.goaway() == 0  # NO_ERROR, no stream taken: the client may retry elsewhere
            second.until(lambda: not second.pump())
