"""Static files over real sockets, with request targets sent byte for byte (no client normalises them):
RELIABILITY.md section G, plus the kernel-sendfile path for a served file."""

from __future__ import annotations

import pytest
from necktie_testing import LiveServer
from pynecktie import Necktie


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("static")
    root, secret = base / "root", base / "root_secret"
    root.mkdir()
    secret.mkdir()
    (secret / "x").write_bytes(b"SECRET")
    (root / "a.txt").write_bytes(b"plain a")
    (root / "a.txt.gz").symlink_to(secret / "x")
    (root / "link").symlink_to("/etc/passwd")
    (root / "big.bin").write_bytes(bytes(range(256)) * 4096)
    app = Necktie("static_wire")
    app.static("/static", root, gzip=True)
    with LiveServer(app) as live:
        yield live


def get(server: LiveServer, target: bytes, headers: bytes = b""):
    with server.raw() as conn:
        conn.send(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        return conn.read_response()


@pytest.mark.parametrize("target", [
    b"/static/../root_secret/x", b"/static/%2e%2e/root_secret/x", b"/static/..%2froot_secret%2fx",
    b"/static/%2e%2e%2froot_secret%2fx", b"/static/..%5croot_secret%5cx", b"/static/%252e%252e/root_secret/x",
    b"/static//etc/passwd", b"/static/%2fetc%2fpasswd", b"/static/C:%5cwin", b"/static/a.txt%00.png",
    b"/static/link", b"/static/a.txt.gz", b"/static/./../root_secret/x", b"/static/%2E%2E/%2E%2E/etc/passwd",
])
def test_escapes_are_404_like_a_missing_file(server, target):
    missing = get(server, b"/static/missing.txt")
    response = get(server, target)
    assert response.status in (400, 404), target
    assert b"SECRET" not in response.body and b"root:" not in response.body
    if response.status == 404:
        assert response.body == missing.body


def test_out_of_root_gz_sibling_is_never_served(server):
    response = get(server, b"/static/a.txt", b"Accept-Encoding: gzip\r\n")
    assert response.status == 200 and response.body == b"plain a"
    assert response.header("content-encoding") is None


def test_served_file_bytes_and_range(server):
    data = bytes(range(256)) * 4096
    whole = get(server, b"/static/big.bin")
    assert whole.status == 200 and whole.body == data
    part = get(server, b"/static/big.bin", b"Range: bytes=-300\r\n")
    assert part.status == 206 and part.body == data[-300:]


@pytest.mark.parametrize(("range_value", "status", "content_range"), [
    # a start past the end is 416, however many digits it has (int() refuses more than 4300)
    (b"bytes=99999999999999999999999-", 416, "bytes */1048576"),
    (b"bytes=" + b"9" * 5000 + b"-", 416, "bytes */1048576"),
    (b"bytes=1048576-", 416, "bytes */1048576"),
    # a huge end is the end of the file
    (b"bytes=1048570-99999999999999999999999", 206, "bytes 1048570-1048575/1048576"),
    (b"bytes=1048570-" + b"9" * 5000, 206, "bytes 1048570-1048575/1048576"),
    # a huge suffix is the whole file, as a part
    (b"bytes=-99999999999999999999999", 206, "bytes 0-1048575/1048576"),
    (b"bytes=00000000000000000000000000001-2", 206, "bytes 1-2/1048576"),
    # several ranges, none inside the file: 416; some inside: the whole file, once
    (b"bytes=" + b",".join([b"99999999999999999999999-"] * 300), 416, "bytes */1048576"),
    (b"bytes=" + b",".join([b"0-0"] * 1000), 200, None),
    (b"bytes=0-1, 5-6, 99999999999999999999999-", 200, None),
])
def test_hostile_ranges(server, range_value, status, content_range):
    response = get(server, b"/static/big.bin", b"Range: " + range_value + b"\r\n")
    assert response.status == status, range_value[:60]
    assert response.header("content-range") == content_range
    data = bytes(range(256)) * 4096
    if status == 200:
        assert response.body == data
    elif status == 206:
        first, last = content_range.split(" ")[1].split("/")[0].split("-")
        assert response.body == data[int(first) : int(last) + 1]
