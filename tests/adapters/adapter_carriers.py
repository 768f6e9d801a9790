"""Real servers carrying a Necktie app, each started as a subprocess on a free 127.0.0.1 port.

``necktie-server`` runs the app natively; uvicorn and granian run it as an ASGI application. The tests take
a carrier name and never need to know which one serves them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h11

CARRIERS = ("necktie-server", "uvicorn", "granian")
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
HERE = Path(__file__).resolve().parent


def _command(carrier: str, target: str, app_dir: Path, port: int, websockets: bool = False) -> list[str]:
    py = sys.executable
    if carrier == "necktie-server":
        return [py, "-m", "necktie_server", target, "--host", "127.0.0.1", "--port", str(port),
                "--no-access-log"]
    if carrier == "uvicorn":
        return [py, "-m", "uvicorn", target, "--app-dir", str(app_dir), "--host", "127.0.0.1",
                "--port", str(port), "--lifespan", "on", "--no-access-log", "--log-level", "warning"]
    if carrier == "granian":
        return [py, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
                "--working-dir", str(app_dir), "--ws" if websockets else "--no-ws", "--workers", "1",
                "--log-level", "warning", target]
    raise ValueError(carrier)


def free_port() -> int:
    """A port nothing listens on right now (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # type: ignore[no-any-return]


@dataclass
class Running:
    """A started server process."""

    carrier: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 30.0) -> int:
        """Ask for a graceful shutdown (SIGINT), as a user's Ctrl-C would; kill if it does not come."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)
        return self.process.returncode


def launch(carrier: str, module: str, app_dir: Path, log: Path, env: dict[str, str] | None = None,
           expect_ready: bool = True, timeout: float = 60.0, websockets: bool = False) -> Running:
    """Start *carrier* serving ``module:app`` from *app_dir*; wait until it accepts connections.

    *websockets* turns on granian's websocket support (off otherwise; the other carriers always have it).
    """
    port = free_port()
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with log.open("wb") as out:
        command = _command(carrier, f"{module}:app", app_dir, port, websockets)
        process = subprocess.Popen(command, cwd=app_dir, stdout=out, stderr=subprocess.STDOUT,
                                   env=environment, start_new_session=True)
    running = Running(carrier, port, process, log)
    if not expect_ready:
        return running
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{carrier} exited with {process.returncode}:\n{running.output()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return running
        time.sleep(0.05)
    running.stop()
    raise RuntimeError(f"{carrier} did not accept connections in {timeout}s:\n{running.output()}")


@contextlib.contextmanager
def serving(carrier: str, module: str, app_dir: Path, log: Path, env: dict[str, str] | None = None,
            websockets: bool = False) -> Iterator[Running]:
    """`launch` for the length of a ``with`` block."""
    running = launch(carrier, module, app_dir, log, env, websockets=websockets)
    try:
        yield running
    finally:
        running.stop()


# -- a client over raw sockets, parsed with h11 ------------------------------------------------------

def read_response(sock: socket.socket, method: str = "GET") -> tuple[h11.Response, bytes]:
    """Read one complete response (status, headers, whole body) from *sock*."""
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))  # put h11 in the right state
    response, body = None, []
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(sock.recv(1 << 20))
            continue
        if isinstance(event, h11.Response):
            response = event
        elif isinstance(event, h11.Data):
            body.append(event.data)
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            assert response is not None
            return response, b"".join(body)


def exchange(port: int, raw: bytes, method: str = "GET", timeout: float = 10.0) -> tuple[h11.Response, bytes]:
    """Send raw request bytes on a new connection and read one response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        return read_response(sock, method)


def request(port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
            ) -> tuple[h11.Response, bytes]:
    """One HTTP/1.1 request with a Content-Length body; the connection closes afterwards."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
             f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return exchange(port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body, method)


def header(response: h11.Response, name: bytes) -> bytes | None:
    """The first value of header *name* (lower case) in *response*."""
    return next((v for k, v in response.headers if k == name), None)


def get_json(port: int, path: str):
    """GET *path* and return its JSON body (asserting a 200)."""
    response, body = request(port, "GET", path)
    assert response.status_code == 200
    return json.loads(body)


def eventually(check, timeout: float = 20.0):
    """Poll *check()* until it returns a truthy value (a bounded wait, generous for a busy machine)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def reset(sock: socket.socket) -> None:
    """Drop the connection with a TCP RST, as a crashed client or a dead network path does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def leave_forever_mid_stream(port: int) -> None:
    """GET the apps' endless ``/forever`` stream, read three ticks of it, then reset the connection."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
    received = b""
    while received.count(b"tick") < 3:
        data = sock.recv(65536)
        assert data
        received += data
    reset(sock)
