"""Draining and rolling restarts with real parts, under constant load (`rolling_load`): keep-alive clients,
streamed uploads and downloads, server-sent events. No exchange may fail, no stream may be cut.

- Two ``necktie`` processes behind a real nginx, with the upstream block of docs/deployment.md (passive
  health checks): each in turn gets ``SIGTERM``, its readiness goes 503 while it keeps serving (the drain
  delay, ended by ``SIGINT`` once it has been seen), it exits, and a new process takes its port;
  readiness is seen going 503, then 200.
- ``necktie --workers 2``: ``SIGHUP`` to the supervisor replaces both workers one by one.

Each load phase lasts a few seconds; every wait is an "eventually" with a generous bound.
"""

from __future__ import annotations

import http.client
import signal
import time
from collections.abc import Callable
from pathlib import Path

import nginx_support
import psutil
from cli_support import Running
from rolling_load import Load

HERE = Path(__file__).resolve().parent
DRAIN_DELAY = 2.0  # above the tests' nginx keepalive_timeout
NGINX_KEEPALIVE = 1.0  # the upstream keepalive_timeout the nginx test sets (4 s on the page)
NGINX_FAIL_TIMEOUT = 1.0  # the fail_timeout the nginx test sets (5 s on the page)
ENV = {
    "NECKTIE_READINESS_PATH": "/readyz",
    "NECKTIE_LIVENESS_PATH": "/livez",
    "NECKTIE_DRAIN_DELAY": str(DRAIN_DELAY),
    "NECKTIE_GRACEFUL_SHUTDOWN_TIMEOUT": "30",
}


def probe(port: int, path: str = "/readyz") -> int | None:
    """The status of GET *path* on a new connection, or None when nothing accepts it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def eventually(check: Callable[[], object], what: str, timeout: float = 60.0, pause: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(pause)


def _start(spawn, port: int, **settings: str) -> Running:
    args = ["rolling_app:app", "--port", str(port), "--no-access-log"]
    env = {**ENV, **{f"NECKTIE_{name}": value for name, value in settings.items()}}
    return spawn(args, HERE, env=env).wait_started()


def _served_count(load: Load, pid: int) -> int:
    with load.tally.lock:
        return load.tally.pids[str(pid)]


def _served_by(load: Load, pid: int) -> bool:
    return _served_count(load, pid) > 0


def test_two_servers_behind_nginx_drain_and_restart_one_after_the_other(spawn, tmp_path: Path) -> None:
    nginx = nginx_support.install_nginx()
    ports = [nginx_support.free_port(), nginx_support.free_port()]
    servers = [_start(spawn, port, DRAIN_DELAY="3600") for port in ports]
    listen = nginx_support.free_port()
    site = nginx_support.documented_site("max_fails")
    for address, port in zip(("10.0.0.11:8000", "10.0.0.12:8000"), ports, strict=True):
        assert f"server {address} " in site
        site = site.replace(f"server {address} ", f"server 127.0.0.1:{port} ")
    assert site.count("fail_timeout=5s") == 2
    site = site.replace("fail_timeout=5s", f"fail_timeout={NGINX_FAIL_TIMEOUT:g}s")
    assert "keepalive_timeout 4s;" in site and "listen 80;" in site
    site = site.replace("keepalive_timeout 4s;", f"keepalive_timeout {NGINX_KEEPALIVE:g}s;")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    with nginx_support.running_nginx(nginx, tmp_path, site, listen):
        load = Load("127.0.0.1", listen).start()
        try:
            for server in servers:
                eventually(lambda s=server: _served_by(load, s.process.pid), "both servers get traffic")
            for index, port in enumerate(ports):
                old = servers[index]
                assert probe(port) == 200
                old.process.send_signal(signal.SIGTERM)
                eventually(lambda p=port: probe(p) == 503, "readiness 503 during the drain")
                assert probe(port, "/livez") == 200  # alive while it drains
                # The drain delay is an hour here, so the 503 is seen however slow the machine; once nginx's
                # kept-alive connections have had their keepalive_timeout (1 s), SIGINT ends it.
                time.sleep(NGINX_KEEPALIVE + 0.5)
                old.process.send_signal(signal.SIGINT)
                assert old.process.wait(60) == 0
                servers[index] = new = _start(spawn, port, DRAIN_DELAY="3600")
                eventually(lambda p=port: probe(p) == 200, "readiness 200 after the restart")
                # nginx keeps a server it saw fail out for fail_timeout: drain the next one only once the
                # restarted one is back in rotation (both out at once is "no live upstreams", a 502).
                time.sleep(NGINX_FAIL_TIMEOUT + 0.5)
                seen = _served_count(load, new.process.pid)
                eventually(lambda n=new, s=seen: _served_count(load, n.process.pid) >= s + 20,
                           "nginx sends to the new server again")
        finally:
            tally = load.stop()
    assert tally.failures == [], f"{len(tally.failures)} failed of {tally.served + len(tally.failures)}"
    assert all(tally.ok[kind] > 0 for kind in ("hello", "upload", "download", "events")), tally.ok


def test_sighup_replaces_the_workers_one_by_one_under_load(spawn) -> None:
    port = nginx_support.free_port()
    supervisor = spawn(["rolling_app:app", "--port", str(port), "--workers", "2", "--no-access-log"], HERE,
                       env=ENV).wait_started()
    load = Load("127.0.0.1", port).start()
    try:
        eventually(lambda: load.tally.served > 20, "the workers serve")
        with load.tally.lock:
            before = set(load.tally.pids)
        start = len(supervisor.lines)
        supervisor.process.send_signal(signal.SIGHUP)
        supervisor.wait_for(r"Rolling restart done", start=start, timeout=120)
        eventually(lambda: len(set(load.tally.pids) - before) >= 2, "both new workers serve")
        time.sleep(0.5)
    finally:
        tally = load.stop()
    assert tally.failures == [], f"{len(tally.failures)} failed of {tally.served + len(tally.failures)}"
    assert all(tally.ok[kind] > 0 for kind in ("hello", "upload", "download", "events")), tally.ok
    assert supervisor.stop(signal.SIGTERM) == 0


def test_sigint_ends_the_drain_delay_and_a_repeated_sigterm_does_not(spawn) -> None:
    port = nginx_support.free_port()
    server = _start(spawn, port, DRAIN_DELAY="3600")
    server.process.send_signal(signal.SIGTERM)
    eventually(lambda: probe(port) == 503, "readiness 503 during the drain")
    # As a process manager sends it to every process of the group, and the supervisor passes it on.
    server.process.send_signal(signal.SIGTERM)
    for _ in range(10):
        assert probe(port) == 503
        time.sleep(0.1)
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(60) == 0


def test_sigint_does_not_wait_for_the_drain_delay(spawn) -> None:
    port = nginx_support.free_port()
    server = _start(spawn, port, DRAIN_DELAY="3600")
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(60) == 0


def test_sighup_to_a_single_process_is_logged_and_ignored(spawn) -> None:
    port = nginx_support.free_port()
    server = spawn(["rolling_app:app", "--port", str(port), "--no-access-log"], HERE, env=ENV).wait_started()
    start = len(server.lines)
    server.process.send_signal(signal.SIGHUP)
    server.wait_for(r"SIGHUP ignored: a rolling restart needs a supervisor", start=start)
    assert probe(port) == 200
    assert server.stop(signal.SIGINT) == 0


FLAKY_APP = '''
import os
from pynecktie import Necktie
from pynecktie.response import text

if os.path.exists("broken"):
    raise RuntimeError("this version does not start")

app = Necktie("flaky")

@app.get("/")
async def index(request):
    return text(str(os.getpid()))
'''


def test_a_rolling_restart_whose_new_worker_fails_keeps_the_old_workers(spawn, tmp_path: Path) -> None:
    (tmp_path / "flaky_app.py").write_text(FLAKY_APP)
    port = nginx_support.free_port()
    supervisor = spawn(["flaky_app:app", "--port", str(port), "--workers", "2", "--no-access-log"], tmp_path,
                       env=ENV).wait_started()
    workers = {p.pid for p in psutil.Process(supervisor.process.pid).children()}
    assert len(workers) == 2
    (tmp_path / "broken").write_text("")
    start = len(supervisor.lines)
    supervisor.process.send_signal(signal.SIGHUP)
    supervisor.wait_for(r"Rolling restart stopped: the new worker 0 .* before serving; the old workers go on",
                        start=start)
    assert probe(port, "/") == 200
    assert {p.pid for p in psutil.Process(supervisor.process.pid).children()} == workers
    (tmp_path / "broken").unlink()
    start = len(supervisor.lines)
    supervisor.process.send_signal(signal.SIGHUP)
    supervisor.wait_for(r"Rolling restart done", start=start, timeout=120)
    assert not {p.pid for p in psutil.Process(supervisor.process.pid).children()} & workers
    assert supervisor.stop(signal.SIGTERM) == 0
