"""A setting whose optional package is missing stops the app at start-up, naming the pip extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pynecktie import Necktie
from pynecktie.observation import MissingExtra

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize(("setting", "value", "module", "extra"), [
    ("METRICS_PATH", "/metrics", "prometheus_client", "necktie-core[metrics]"),
    ("TRACING", True, "opentelemetry", "necktie-core[otel]"),
])
def test_finalize_names_the_extra(monkeypatch, setting, value, module, extra):
    monkeypatch.setitem(sys.modules, module, None)
    app = Necktie("missing")
    app.config[setting] = value
    with pytest.raises(MissingExtra, match=rf"{setting} needs .*pip install '{re_escape(extra)}'"):
        app.finalize()


def re_escape(text: str) -> str:
    return text.replace("[", r"\[").replace("]", r"\]")


def test_the_server_refuses_to_start_and_says_why():
    result = subprocess.run(
        [sys.executable, "-m", "necktie_server", "unmetered_app:app", "--host", "127.0.0.1", "--port", "0"],
        cwd=HERE, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "METRICS_PATH needs prometheus-client: pip install 'necktie-core[metrics]'" in result.stderr
