"""File responses over real loopback sockets: the kernel's sendfile, ranges, HEAD, 304, keep-alive order,
pipelining, chunked-read fallback, disconnects and stalled readers."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time

import pytest
from necktie_testing import LiveServer, TestClient
from pynecktie import Necktie
from pynecktie.response import file, file_stream, text

MB = 1 << 20


class SendfileSpy:
    """Counts os.sendfile calls (the server calls it through the os module)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.bytes = 0
        real = os.sendfile
        lock = threading.Lock()

        def spy(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
            n = real(out_fd, in_fd, offset, count)
            with lock:
                self.calls += 1
                self.bytes += n
            return n

        monkeypatch.setattr(os, "sendfile", spy)


@pytest.fixture(scope="module")
def files_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("files")
    (root / "big.bin").write_bytes(os.urandom(3 * MB + 17))
    with open(root / "huge.bin", "wb") as f:  # sparse: costs no disk
        f.truncate(256 * MB)
    (root / "small.txt").write_bytes(b"small file\n")
    return root


@pytest.fixture
def app(files_dir):
    app = Necktie("files")

    @app.get("/big")
    async def big(request):
        return await file(files_dir / "big.bin")

    @app.get("/huge")
    def huge(request):
        return file(files_dir / "huge.bin")

    @app.get("/small")
    def small(request):
        return file(files_dir / "small.txt", filename="small.txt")

    @app.get("/streamed")
    def streamed(request):
        return file_stream(files_dir / "big.bin", chunk_size=100_000)

    @app.get("/hello")
    def hello(request):
        return text("hello")

    return app


def test_a_large_file_is_sent_whole_by_the_kernel(app, files_dir, monkeypatch):
    spy = SendfileSpy(monkeypatch)
    expected = (files_dir / "big.bin").read_bytes()
    with TestClient(app) as client:
        response = client.get("/big")
        assert response.status_code == 200
        assert response.headers["content-length"] == str(len(expected))
        assert hashlib.sha256(response.content).digest() == hashlib.sha256(expected).digest()
        assert client.get("/hello").text == "hello"  # the connection is still in order afterwards
    assert spy.calls >= 1 and spy.bytes == len(expected)


def test_file_stream_reads_in_chunks_without_sendfile(app, files_dir, monkeypatch):
    spy = SendfileSpy(monkeypatch)
    with TestClient(app) as client:
        response = client.get("/streamed")
        assert response.content == (files_dir / "big.bin").read_bytes()
        assert response.headers["content-length"] == str(3 * MB + 17)
    assert spy.calls == 0


def test_ranges_head_and_304_on_one_keep_alive_connection(app, files_dir):
    data = (files_dir / "big.bin").read_bytes()
    with LiveServer(app) as server, server.raw() as conn:
        conn.send(b"GET /big HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-1999\r\n\r\n")
        part = conn.read_response()
        assert part.status == 206 and part.body == data[1000:2000]
        assert part.header("content-range") == f"bytes 1000-1999/{len(data)}"
        etag = part.header("etag")

        conn.send(b"HEAD /big HTTP/1.1\r\nHost: x\r\n\r\n")
        head = conn.read_response("HEAD")
        assert head.status == 200 and head.body == b"" and head.header("content-length") == str(len(data))

        conn.send(f"GET /big HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n".encode())
        not_modified = conn.read_response()
        assert not_modified.status == 304 and not_modified.body == b""
        assert not_modified.header("content-length") is None and not_modified.header("etag") == etag

        conn.send(b"GET /big HTTP/1.1\r\nHost: x\r\nRange: bytes=99999999-\r\n\r\n")
        unsatisfiable = conn.read_response()
        assert unsatisfiable.status == 416
        assert unsatisfiable.header("content-range") == f"bytes */{len(data)}"

        conn.send(b"HEAD /small HTTP/1.1\r\nHost: x\r\n\r\n")
        head_small = conn.read_response("HEAD")
        assert head_small.body == b"" and head_small.header("content-length") == "11"

        conn.send(b"GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
        small = conn.read_response()
        assert small.body == b"small file\n"
        assert small.header("content-disposition") == 'attachment; filename="small.txt"'
        assert small.header("content-type") == "text/plain; charset=utf-8"


def test_pipelined_requests_after_a_sendfile_stay_in_order(app, files_dir):
    data = (files_dir / "big.bin").read_bytes()
    with LiveServer(app) as server, server.raw(timeout=30) as conn:
        conn.send(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
        first = conn.read_response()
        assert first.status == 200 and len(first.body) == len(data) and first.body == data
        assert conn.read_response().body == b"hello"
        assert conn.read_response().body == b"small file\n"


def _wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_client_disconnect_mid_sendfile_frees_the_connection(app):
    with LiveServer(app) as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(b"GET /huge HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(10)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        sock.close()
        assert _wait_for(lambda: not server.server.state.connections), "the connection was never released"
        with server.raw() as conn:
            conn.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            assert conn.read_response().body == b"hello"


def test_a_client_that_stops_reading_is_cut_off_at_the_write_timeout(app):
    app.config.WRITE_TIMEOUT = 0.5
    with LiveServer(app) as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(b"GET /huge HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _wait_for(lambda: server.server.state.connections), "the connection never arrived"
        assert _wait_for(lambda: not server.server.state.connections), "the stalled connection was never cut"
        sock.settimeout(10)
        received = 0
        try:
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
        except ConnectionResetError:
            pass
        sock.close()
        assert 0 < received < 256 * MB


def test_over_tls_the_file_is_read_in_chunks_and_arrives_whole(app, files_dir, monkeypatch):
    import ssl

    import httpx
    import trustme

    spy = SendfileSpy(monkeypatch)
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    data = (files_dir / "big.bin").read_bytes()
    with LiveServer(app, ssl=server_ctx) as server:
        base_url = f"https://127.0.0.1:{server.port}"
        with httpx.Client(base_url=base_url, verify=client_ctx, timeout=30) as client:
            response = client.get("/big")
            assert response.status_code == 200 and response.content == data
            with_range = client.get("/big", headers={"Range": "bytes=5-9"})
            assert with_range.content == data[5:10]
    assert spy.calls == 0  # the kernel cannot encrypt: no sendfile under TLS
