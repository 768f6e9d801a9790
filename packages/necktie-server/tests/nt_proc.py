"""A necktie server in a child process, so its memory, CPU time and exit status are its own.

The child runs ``nt_proc_app.py`` under `necktie_server.serve` (real signal handling); settings come from
``NECKTIE_<NAME>`` environment variables. `ServerProcess.rss()` reads ``/proc/<pid>/status``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nt_rawhttp import connect, parse_all, read_until_closed

APP = Path(__file__).with_name("nt_proc_app.py")


class ServerProcess:
    """Start with ``with ServerProcess(REQUEST_TIMEOUT=1) as server:``; ``server.port`` is ready to use."""

    def __init__(self, **config: Any) -> None:
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1",
                    **{f"NECKTIE_{k}": str(v) for k, v in config.items()}}
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> ServerProcess:
        self.log = tempfile.TemporaryFile("w+")
        command = [sys.executable, "-W", "always::ResourceWarning", str(APP)]
        self.proc = subprocess.Popen(command, env=self.env, stdout=subprocess.PIPE, stderr=self.log,
                                     text=True)
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"server did not start: {line!r} {self.stderr()!r}")
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc.stdout.close()  # type: ignore[union-attr]
        self.log.close()

    def assert_clean_log(self) -> None:
        """Nothing went wrong inside the server: no traceback, leaked task, unawaited coroutine or open
        resource."""
        log = self.stderr()
        for sign in ("Traceback", "Task was destroyed", "Exception in callback", "never awaited",
                     "ResourceWarning", "Unhandled error"):
            assert sign not in log, log[-3000:]

    def stderr(self) -> str:
        """What the server logged so far."""
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.proc.pid  # type: ignore[union-attr]

    def status(self, field: str) -> int:
        """A ``/proc/<pid>/status`` memory field (``VmRSS``, ``VmHWM``), in bytes."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)

    def rss(self) -> int:
        """The server's resident memory now, in bytes."""
        return self.status("VmRSS")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server has used."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def get(self, path: str, timeout: float = 10.0) -> bytes:
        """GET *path* on a fresh connection; the response body."""
        with connect(self.port, timeout) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode())
            data, _ = read_until_closed(sock, timeout)
        answers, _ = parse_all(data)
        assert answers and answers[0].status == 200, data[:200]
        return answers[0].body

    def stats(self) -> dict[str, Any]:
        """The server's own counters (tasks, open connections, file descriptors, finished handlers)."""
        return json.loads(self.get("/stats"))  # type: ignore[no-any-return]

    def wait_stats(self, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
        """Poll ``/stats`` until *predicate* holds (the last stats are returned either way)."""
        end = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if predicate(stats) or time.monotonic() > end:
                return stats
            time.sleep(0.1)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, then the exit status."""
        self.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        return self.proc.wait(timeout)  # type: ignore[union-attr]
