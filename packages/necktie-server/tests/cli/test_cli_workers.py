"""``--workers N``: one port served by several processes under a supervisor that restarts and stops them."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import psutil
from cli_support import Running, write_module


def _pid_of_answer(url: str) -> int:
    # A new connection each time, so the kernel may hand it to any worker.
    with httpx.Client(timeout=30) as client:
        text = client.get(url + "/", headers={"connection": "close"}).text
    return int(text.split()[0].removeprefix("pid="))


def _worker_pids(server: Running) -> set[int]:
    return {child.pid for child in psutil.Process(server.process.pid).children()}


def _answers_until(url: str, done, timeout: float = 60.0) -> set[int]:
    """The worker pids that answered, asking until *done(pids)* (bounded by *timeout*)."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while not done(seen):
        assert time.monotonic() < deadline, f"only {seen} answered"
        seen.add(_pid_of_answer(url))
    return seen


def _eventually(predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.1)


def test_workers_share_the_port_are_replaced_and_stop_together(spawn, app_dir: Path) -> None:
    server: Running = spawn(["demo_app:app", "--port", "0", "--workers", "2"], app_dir).wait_started()
    supervisor = server.process.pid
    assert "(2 workers, production mode)" in server.output
    workers = _worker_pids(server)
    assert len(workers) == 2

    # Requests are answered by more than one worker, and only by workers.
    answered = _answers_until(server.url, lambda seen: len(seen) == 2)
    assert answered == workers

    # A second server cannot take the port, even one asking for SO_REUSEPORT itself.
    intruder = spawn(["demo_app:app", "--port", str(server.port), "--workers", "2"], app_dir)
    assert intruder.process.wait(60) == 1
    intruder.wait_for(rf"necktie: error: cannot listen on http://127\.0\.0\.1:{server.port}: Address already "
                      "in use")

    # The supervisor ran the main-process listeners, each worker its server listeners.
    assert f"main_process_start in {supervisor}" in server.output
    for pid in workers:
        assert f"before_server_start in {pid}" in server.output
    # No access log by default with several workers.
    assert "necktie.access" not in server.output

    # A killed worker is replaced, and the new one serves.
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    server.wait_for(rf"Worker \d \(pid {victim}\) killed by SIGKILL; starting a new one")
    _eventually(lambda: len(_worker_pids(server)) == 2 and victim not in _worker_pids(server),
                "a replacement worker")
    replacement = (_worker_pids(server) - workers).pop()
    seen = _answers_until(server.url, lambda seen: replacement in seen)
    assert victim not in seen

    # SIGTERM to the supervisor stops every worker gracefully, then the supervisor, with status 0.
    current = _worker_pids(server)
    assert server.stop(signal.SIGTERM) == 0
    for pid in current:
        assert f"after_server_stop in {pid}" in server.output
        assert not psutil.pid_exists(pid)
    assert server.output.rindex("main_process_stop in") > max(
        server.output.index(f"after_server_stop in {pid}") for pid in current)
    assert "Traceback" not in server.output


def test_access_log_on_with_workers_when_asked(spawn, app_dir: Path) -> None:
    server: Running = spawn(["demo_app:app", "--port", "0", "--workers", "2", "--access-log"],
                            app_dir).wait_started()
    pid = _pid_of_answer(server.url)
    server.wait_for(rf'\[{pid}\] INFO necktie\.access: 127\.0\.0\.1 "GET / HTTP/1\.1" 200 ')
    assert server.stop(signal.SIGINT) == 0


def test_workers_that_never_start_end_the_command_with_one_line(spawn, tmp_path: Path) -> None:
    write_module(tmp_path, "failing", """
        from pynecktie import Necktie

        app = Necktie("failing")

        @app.before_server_start
        async def connect(app):
            raise ConnectionRefusedError("the database is not there")
    """)
    server: Running = spawn(["failing:app", "--port", "0", "--workers", "2"], tmp_path)
    assert server.process.wait(120) == 1
    server.wait_for(r"^necktie: error: workers keep failing to start \(the last one exited with status 1\)$")
    # Each worker's own error is shown, so the cause is not lost.
    assert "ConnectionRefusedError: the database is not there" in server.output
    assert "serving failing" not in server.output
