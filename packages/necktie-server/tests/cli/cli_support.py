"""Support for tests that run the real ``necktie`` command (or a script calling ``app.run()``) as a
subprocess."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

START_TIMEOUT = 60.0  # a busy 2-core machine can take a while to start interpreters
BANNER = re.compile(
    r"serving \S+ at (?P<url>(?:https?://\S+:(?P<port>\d+))|unix:\S+) \((?P<workers>\d+) worker")

CONSOLE_SCRIPT = str(Path(sys.executable).with_name("necktie"))


class Running:
    """A started server process whose combined stdout/stderr is collected line by line."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        full_env.pop("_NECKTIE_WORKER", None)
        self.process = subprocess.Popen(command, cwd=cwd, env=full_env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = ""
        self.port = 0

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        """Everything printed so far."""
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float = START_TIMEOUT,
                 start: int = 0) -> re.Match[str]:
        """The first output line (from line *start* on) matching *pattern*; fails if none comes in time."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        seen = start
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if match := regex.search(line):
                        return match
                seen = len(self.lines)
                if self.process.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"exited ({self.process.returncode}) before {regex.pattern!r}:\n"
                                         + "\n".join(self.lines))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {regex.pattern!r} within {timeout}s:\n" + "\n".join(self.lines))
                self._changed.wait(min(remaining, 0.5))

    def wait_started(self) -> Running:
        """Wait for the banner and take the URL from it."""
        match = self.wait_for(BANNER)
        self.url = match["url"]
        self.port = int(match["port"] or 0)
        return self

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Send *signum* and return the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        status = self.process.wait(timeout)
        self._reader.join(10)
        return status

    def kill(self) -> None:
        """Kill the whole process group if still running (cleanup after a test) and close the output pipe."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)
        self._reader.join(10)
        if self.process.stdout is not None and not self._reader.is_alive():
            self.process.stdout.close()


def write_module(directory: Path, name: str, source: str) -> Path:
    """Write a module (dedented) and return its path."""
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path


APP_SOURCE = '''
import os
from pynecktie import Necktie
from pynecktie.response import stream, text

app = Necktie("demo")

@app.get("/")
async def index(request):
    return text(f"pid={os.getpid()} scheme={request.scheme}")

@app.get("/stream")
async def chunks(request):
    async def body(response):
        for part in (b"ab", b"cde", b"fghi"):
            await response.write(part)
    return stream(body)

@app.listener("main_process_start")
async def main_start(app):
    print(f"main_process_start in {os.getpid()}", flush=True)

@app.listener("main_process_stop")
async def main_stop(app):
    print(f"main_process_stop in {os.getpid()}", flush=True)

@app.before_server_start
async def worker_start(app):
    print(f"before_server_start in {os.getpid()}", flush=True)

@app.after_server_stop
async def worker_stop(app):
    print(f"after_server_stop in {os.getpid()}", flush=True)

def create_app():
    factory_app = Necktie("made")

    @factory_app.get("/")
    async def made(request):
        return text("made by a factory")

    return factory_app
'''
