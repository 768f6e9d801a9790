"""``necktie --http2``: HTTP/2 over TLS by ALPN from two workers, and in cleartext by prior knowledge beside
HTTP/1.1 on the same port."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import trustme
from cli_support import Running


def test_http2_over_tls_from_two_workers(spawn, app_dir: Path, tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    server: Running = spawn(["demo_app:app", "--port", "0", "--workers", "2", "--http2", "--tls-cert",
                             str(cert_path), "--tls-key", str(key_path)], app_dir).wait_started()
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with httpx.Client(http2=True, verify=context, timeout=30) as client:
        response = client.get(server.url + "/stream")
        assert (response.http_version, response.content) == ("HTTP/2", b"abcdefghi")
    with httpx.Client(verify=context, timeout=30) as client:  # HTTP/1.1 only: ALPN falls back
        assert client.get(server.url + "/stream").http_version == "HTTP/1.1"
    assert server.stop() == 0


def test_http2_in_cleartext_beside_http1(spawn, app_dir: Path) -> None:
    server: Running = spawn(["demo_app:app", "--port", "0", "--http2"], app_dir).wait_started()
    with httpx.Client(http1=False, http2=True, timeout=30) as client:
        response = client.get(server.url + "/stream")
        assert (response.http_version, response.content) == ("HTTP/2", b"abcdefghi")
    response = httpx.get(server.url + "/stream", timeout=30)
    assert (response.http_version, response.content) == ("HTTP/1.1", b"abcdefghi")
    assert server.stop() == 0
