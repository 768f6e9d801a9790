"""``necktie module:app``, ``--factory``, ``--simple DIR`` and ``--unix``, each run as a real subprocess."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import h11
import httpx
from cli_support import Running


def _get(url: str, path: str = "/") -> httpx.Response:
    return httpx.get(url + path, timeout=30)


def test_module_app_serves_logs_each_request_and_stops_cleanly(spawn, app_dir: Path) -> None:
    server: Running = spawn(["demo_app:app", "--port", "0"], app_dir).wait_started()
    assert server.url.startswith("http://127.0.0.1:")
    assert "(1 worker, production mode)" in server.output

    response = _get(server.url)
    assert response.status_code == 200
    assert response.text == f"pid={server.process.pid} scheme=http"
    line = server.wait_for(r'necktie\.access: 127\.0\.0\.1 "GET / HTTP/1\.1" 200 (\d+) ([\d.]+m?s)$')
    assert int(line[1]) == len(response.content)

    streamed = _get(server.url, "/stream?x=1")
    assert streamed.content == b"abcdefghi"
    assert streamed.headers["transfer-encoding"] == "chunked"
    # A streamed response is logged once it has ended, with every body byte counted.
    server.wait_for(r'"GET /stream\?x=1 HTTP/1\.1" 200 9 [\d.]+m?s$')

    assert server.stop() == 0
    pid = server.process.pid
    output = server.output
    # One process: the main-process listeners run in it, around the server's own.
    order = [f"main_process_start in {pid}", f"before_server_start in {pid}", "Shutting down",
             f"after_server_stop in {pid}", f"main_process_stop in {pid}"]
    positions = [output.index(text) for text in order]
    assert positions == sorted(positions)
    assert "Traceback" not in output


def test_factory_through_the_console_script_without_access_log(spawn, app_dir: Path) -> None:
    server = spawn(["demo_app:create_app", "--factory", "--port", "0", "--no-access-log"], app_dir,
                   how="script").wait_started()
    assert " made at " in server.output  # the banner names the app the factory made
    assert _get(server.url).text == "made by a factory"
    assert _get(server.url).text == "made by a factory"
    assert server.stop() == 0
    assert "necktie.access" not in server.output


def test_simple_serves_a_directory_and_nothing_outside_it(spawn, tmp_path: Path) -> None:
    public = tmp_path / "public"
    (public / "docs").mkdir(parents=True)
    (public / "index.html").write_text("<h1>home</h1>")
    (public / "docs" / "notes.txt").write_text("some notes")
    (tmp_path / "secret.txt").write_text("do not serve")
    server = spawn(["--simple", str(public), "--port", "0"], tmp_path).wait_started()

    home = _get(server.url)
    assert (home.status_code, home.text) == (200, "<h1>home</h1>")
    assert home.headers["content-type"].startswith("text/html")
    notes = _get(server.url, "/docs/notes.txt")
    assert (notes.status_code, notes.text) == (200, "some notes")
    assert _get(server.url, "/missing.txt").status_code == 404
    # Traversal, sent raw so no client normalises the path first.
    for target in (b"/../secret.txt", b"/docs/..%2f..%2fsecret.txt", b"/%2e%2e/secret.txt"):
        status, body = _raw_get(("127.0.0.1", server.port), target)
        assert status == 404, target
        assert b"do not serve" not in body
    assert server.stop() == 0


def test_unix_socket_with_two_workers_sharing_it(spawn, app_dir: Path) -> None:
    path = str(app_dir / "necktie.sock")
    server = spawn(["demo_app:app", "--unix", path, "--workers", "2"], app_dir).wait_started()
    assert server.url == f"unix:{path}"
    for _ in range(4):
        status, body = _raw_get(path, b"/")
        assert status == 200
        assert re.fullmatch(rb"pid=\d+ scheme=http", body)
    assert server.stop() == 0
    assert not os.path.exists(path)  # the socket file is removed on the way out


def _raw_get(address: tuple[str, int] | str, target: bytes) -> tuple[int, bytes]:
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family) as sock:
        sock.settimeout(30)
        sock.connect(address)
        sock.sendall(b"GET %s HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n" % target)
        conn = h11.Connection(h11.CLIENT)
        status, body = 0, b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(sock.recv(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                return status, body


