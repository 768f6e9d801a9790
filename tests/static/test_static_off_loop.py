"""Serving files never waits on the disk on the event loop (CONTRIBUTING.md: what core may touch, and where).

Over real loopback sockets: every file-system call made while serving static files and file responses is
recorded with whether its thread runs an event loop; and a disk that hangs on one file does not hold up the
other requests of the same server.
"""

from __future__ import annotations

import asyncio
import io
import os
import socket
import threading

import pytest
from necktie_testing import LiveServer
from pynecktie import Necktie
from pynecktie.response import file, file_stream, text

# The file-system calls core makes (os.path.isfile and realpath go through os.stat and os.lstat).
WATCHED = ("stat", "lstat", "fstat", "pread", "scandir", "listdir")


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "small.txt").write_bytes(b"small" * 10)
    (root / "small.txt.gz").write_bytes(b"gzipped")
    (root / "big.bin").write_bytes(bytes(range(256)) * 1024)
    (root / "sub" / "index.html").write_bytes(b"<p>index</p>")
    (root / "slow.bin").write_bytes(b"slow" * 100)
    app = Necktie("off_loop")
    app.static("/s", root, gzip=True, index="index.html")
    app.static("/list", root, directory_view=True, name="listing")
    app.static("/one", root / "small.txt", name="one")

    @app.get("/hello")
    async def hello(request):
        return text("hello")

    @app.get("/file/<name>")
    async def one_file(request, name):
        return file(root / name)

    @app.get("/stream/<name>")
    async def one_stream(request, name):
        return file_stream(root / name, chunk_size=4096)

    with LiveServer(app) as live:
        yield live


def _get(port: int, target: str, headers: str = "", timeout: float = 30) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _etag(port: int, target: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        head = sock.recv(65536).split(b"\r\n\r\n")[0].decode()
    return next(line.split(": ", 1)[1] for line in head.split("\r\n") if line.lower().startswith("etag"))


def test_no_file_system_call_runs_on_the_event_loop(server, monkeypatch):
    on_loop: list[str] = []
    calls: list[str] = []

    def watch(name, real):
        def watched(*args, **kwargs):
            calls.append(name)
            if asyncio._get_running_loop() is not None:
                on_loop.append(f"{name}{args[:1]}")
            return real(*args, **kwargs)
        return watched

    for name in WATCHED:
        monkeypatch.setattr(os, name, watch(name, getattr(os, name)))
    monkeypatch.setattr(io, "FileIO", watch("FileIO", io.FileIO))
    port = server.port
    assert _get(port, "/s/small.txt") == (200, b"small" * 10)
    assert _get(port, "/s/small.txt", "Accept-Encoding: gzip\r\n") == (200, b"gzipped")
    assert _get(port, "/s/small.txt", "Range: bytes=0-4\r\n") == (206, b"small")
    assert _get(port, "/s/big.bin") == (200, bytes(range(256)) * 1024)
    assert _get(port, "/s/big.bin", "Range: bytes=-3\r\n") == (206, bytes([253, 254, 255]))
    assert _get(port, "/s/sub/") == (200, b"<p>index</p>")
    assert _get(port, "/s/missing.txt")[0] == 404
    assert _get(port, "/s/sub")[0] == 200
    status, listing = _get(port, "/list/")
    assert status == 200 and b"small.txt" in listing
    assert _get(port, "/one") == (200, b"small" * 10)
    assert _get(port, "/file/small.txt") == (200, b"small" * 10)
    assert _get(port, "/file/big.bin")[1] == bytes(range(256)) * 1024
    assert _get(port, "/file/nothing")[0] == 404
    assert _get(port, "/stream/big.bin")[1] == bytes(range(256)) * 1024
    assert _get(port, "/s/small.txt", f"If-None-Match: {_etag(port, '/s/small.txt')}\r\n") == (304, b"")
    assert {"FileIO", "fstat", "lstat", "scandir"} <= set(calls)  # the watch saw the file system in use
    assert on_loop == []


def test_a_hanging_disk_does_not_hold_up_other_requests(server, monkeypatch):
    """Opening slow.bin blocks until the test lets it go, which it does only once /hello has been answered
    on another connection: were the file opened on the event loop, /hello could not be answered."""
    release = threading.Event()
    opening = threading.Event()
    real = io.FileIO

    def slow_open(path, *args, **kwargs):
        if str(path).endswith("slow.bin"):
            opening.set()
            release.wait(60)  # bounded, so a broken server still ends the test
        return real(path, *args, **kwargs)

    monkeypatch.setattr(io, "FileIO", slow_open)
    for target in ("/s/slow.bin", "/file/slow.bin"):
        release.clear()
        opening.clear()
        answers: list[tuple[int, bytes]] = []

        def fetch(target: str = target, answers: list[tuple[int, bytes]] = answers) -> None:
            answers.append(_get(server.port, target, timeout=120))

        slow = threading.Thread(target=fetch)
        slow.start()
        try:
            assert opening.wait(60), "the slow file was never opened"
            assert _get(server.port, "/hello", timeout=30) == (200, b"hello")
        finally:
            release.set()
            slow.join(120)
        assert answers == [(200, b"slow" * 100)], target
