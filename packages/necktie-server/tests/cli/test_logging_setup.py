"""Logging: colour only on a terminal and never with NO_COLOR; the serving settings in ``app.config``."""

from __future__ import annotations

import io
import logging
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from necktie_server.accesslog import format_duration
from necktie_server.logs import Formatter, use_color
from pydantic import ValidationError
from pynecktie.config import Config, describe_error

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_needs_a_terminal_and_no_no_color() -> None:
    assert use_color(_Terminal(), {}) is True
    assert use_color(_Terminal(), {"NO_COLOR": "1"}) is False
    assert use_color(_Terminal(), {"NO_COLOR": ""}) is True  # no-color.org: only a non-empty value counts
    assert use_color(io.StringIO(), {}) is False


def test_formatter_colours_only_when_asked() -> None:
    record = logging.LogRecord("necktie.root", logging.WARNING, __file__, 1, "careful %s", ("now",), None)
    plain = Formatter(color=False).format(record)
    assert not ANSI.search(plain)
    assert plain.endswith(f"[{os.getpid()}] WARNING necktie.root: careful now")
    coloured = Formatter(color=True).format(record)
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured) == plain
    assert record.levelname == "WARNING"  # the record is left as it was for other handlers


@pytest.mark.parametrize(("seconds", "shown"), [(0.00042, "0.4ms"), (0.0123, "12ms"), (3.456, "3.46s")])
def test_duration_format(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown


def _banner_on_a_terminal(app_dir: Path, env: dict[str, str]) -> str:
    """Run the command with its output on a pseudo-terminal and return what it printed up to the banner."""
    main, child = os.openpty()
    process = subprocess.Popen([sys.executable, "-m", "necktie_server", "demo_app:app", "--port", "0"],
                               cwd=app_dir, stdin=subprocess.DEVNULL, stdout=child, stderr=child,
                               env={**{k: v for k, v in os.environ.items() if k != "NO_COLOR"}, **env})
    os.close(child)
    seen = b""
    try:
        deadline = time.monotonic() + 60
        while b"worker" not in seen:
            assert time.monotonic() < deadline, seen
            if select.select([main], [], [], 1)[0]:
                seen += os.read(main, 4096)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
        os.close(main)
    return seen.decode()


def test_no_color_is_respected_on_a_terminal(app_dir: Path) -> None:
    assert ANSI.search(_banner_on_a_terminal(app_dir, {}))
    assert not ANSI.search(_banner_on_a_terminal(app_dir, {"NO_COLOR": "1"}))


def test_serving_settings_are_typed_and_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config()
    assert (config.WORKERS, config.BACKLOG, config.ACCESS_LOG, config.TLS_CERT) == (1, 1024, None, None)
    with pytest.raises(ValidationError) as caught:
        config.WORKERS = 0
    assert describe_error(caught.value) == "WORKERS: Input should be greater than 0 (got 0)"
    monkeypatch.setenv("NECKTIE_WORKERS", "3")
    monkeypatch.setenv("NECKTIE_ACCESS_LOG", "false")
    env_config = Config()
    assert (env_config.WORKERS, env_config.ACCESS_LOG) == (3, False)
