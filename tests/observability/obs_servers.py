"""necktie-server started as the ``necktie`` command would be, for the observability tests (access log on,
options of the test's choosing); the socket client helpers are tests/adapters' (`adapter_carriers`)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from adapter_carriers import Running, free_port, request
from prometheus_client.parser import text_string_to_metric_families

HERE = Path(__file__).resolve().parent


@contextlib.contextmanager
def necktie(module: str, log: Path, env: dict[str, str], *options: str, cwd: Path = HERE,
            timeout: float = 60.0) -> Iterator[Running]:
    """Serve ``module:app`` from *cwd* (this directory) with ``python -m necktie_server ... *options``."""
    port = free_port()
    command = [sys.executable, "-m", "necktie_server", f"{module}:app", "--host", "127.0.0.1",
               "--port", str(port), *options]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1", **env}, start_new_session=True)
    running = Running("necktie-server", port, process, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"necktie exited with {process.returncode}:\n{running.output()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"necktie did not accept connections in {timeout}s:\n{running.output()}")
            time.sleep(0.05)
        yield running
    finally:
        running.stop()


def samples_of(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a Prometheus scrape's *text*, by name and labels."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def scrape(port: int) -> dict[tuple[str, frozenset], float]:
    """Every sample at ``/metrics`` (over HTTP/1.1), by name and labels."""
    response, body = request(port, "GET", "/metrics")
    assert response.status_code == 200
    return samples_of(body.decode())
