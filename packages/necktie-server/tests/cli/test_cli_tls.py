"""HTTPS with throw-away certificates: ``--tls-cert/--tls-key``, and an SSLContext given to app.run()."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
import trustme
from cli_support import Running, write_module


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def cert_files(ca: trustme.CA, tmp_path: Path) -> tuple[Path, Path]:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    for blob in cert.cert_chain_pems:
        with cert_path.open("ab") as out:
            out.write(blob.bytes())
    cert.private_key_pem.write_to_path(str(key_path))
    return cert_path, key_path


def _client(ca: trustme.CA) -> httpx.Client:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return httpx.Client(verify=context, timeout=30)


def test_https_from_a_certificate_and_key(spawn, app_dir: Path, ca: trustme.CA, cert_files) -> None:
    cert, key = cert_files
    server: Running = spawn(["demo_app:app", "--port", "0", "--tls-cert", str(cert), "--tls-key", str(key)],
                            app_dir).wait_started()
    assert server.url.startswith("https://127.0.0.1:")
    with _client(ca) as client:
        response = client.get(server.url + "/")
        assert response.text == f"pid={server.process.pid} scheme=https"
        assert response.http_version == "HTTP/1.1"
        assert client.get(server.url + "/stream").content == b"abcdefghi"
    # Plain HTTP to the TLS port is not served.
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{server.port}/", timeout=30)
    assert server.stop() == 0


def test_https_from_an_ssl_context_given_to_app_run(spawn, app_dir: Path, ca: trustme.CA, cert_files) -> None:
    cert, key = cert_files
    write_module(app_dir, "run_tls", f'''
        import ssl
        from demo_app import app

        if __name__ == "__main__":
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain({str(cert)!r}, {str(key)!r})
            app.run(port=0, ssl=context, workers=2)
    ''')
    server: Running = spawn(["run_tls.py"], app_dir, how="python").wait_started()
    assert server.url.startswith("https://127.0.0.1:")
    assert "(2 workers, production mode)" in server.output
    with _client(ca) as client:
        text = client.get(server.url + "/").text
    assert text.startswith("pid=") and text.endswith(" scheme=https")
    assert int(text.split()[0][4:]) != server.process.pid  # answered by a worker the script started
    assert server.stop() == 0
