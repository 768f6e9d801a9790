"""Fixtures for the tests that run the real ``necktie`` command as a subprocess."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import APP_SOURCE, CONSOLE_SCRIPT, Running, write_module


@pytest.fixture
def spawn() -> Iterator[object]:
    """``spawn(args, cwd, env=None, how="module")``: run ``python -m necktie_server *args`` (how="script":
    the console script; how="python": ``python *args``), killed at the end of the test if still running."""
    started: list[Running] = []

    def start(args: list[str], cwd: Path, env: dict[str, str] | None = None, how: str = "module") -> Running:
        prefix = {"module": [sys.executable, "-m", "necktie_server"], "script": [CONSOLE_SCRIPT],
                  "python": [sys.executable]}[how]
        running = Running([*prefix, *args], cwd, env)
        started.append(running)
        return running

    yield start
    for running in started:
        running.kill()


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """A directory holding ``demo_app.py`` (the app, a streamed route, listeners, and a factory)."""
    write_module(tmp_path, "demo_app", APP_SOURCE)
    return tmp_path
