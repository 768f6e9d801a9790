"""docs/deployment.md stays true: its example serves as shown, and its settings table lists every setting."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx
from cli_support import Running
from pynecktie.config import Config

ROOT = Path(__file__).resolve().parents[4]
DOC = ROOT / "docs" / "deployment.md"


def test_settings_table_shows_the_serving_settings_with_their_defaults() -> None:
    text = DOC.read_text()
    rows = dict(re.findall(r"^\| `([A-Z0-9_]+)` \| `([^`]*)` \|", text, flags=re.M))
    assert {"WORKERS", "ACCESS_LOG", "TLS_CERT", "TLS_KEY", "BACKLOG", "PROXIES_COUNT"} <= set(rows)
    for name, shown in rows.items():
        assert name in Config.model_fields, f"docs/deployment.md shows {name}, which is not a setting"
        field = Config.model_fields[name]
        default = f'"{field.default}"' if isinstance(field.default, str) else repr(field.default)
        assert shown == default, f"{name}: the table says {shown}, the model {default}"
    assert "(configuration.md)" in text  # every other setting is there


def test_every_cli_option_is_documented() -> None:
    from necktie_server.cli import build_parser

    text = DOC.read_text()
    for action in build_parser()._actions:
        for option in action.option_strings:
            assert f"`{option}" in text, f"{option} is not in docs/deployment.md"


def test_the_example_runs_as_documented(spawn, tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples" / "deployment.py", tmp_path / "deployment.py")
    server: Running = spawn(["deployment.py"], tmp_path, env={"PORT": "0"}, how="python").wait_started()
    assert "serving deployment at http://127.0.0.1:" in server.output
    assert "(2 workers, production mode)" in server.output
    assert f"supervisor {server.process.pid} starting workers" in server.output
    answer = httpx.get(server.url + "/", timeout=30).json()
    assert answer["client"] == "127.0.0.1" and answer["scheme"] == "http"
    assert answer["worker"] != server.process.pid

    def chunks():
        yield b"x" * 1000
        yield b"y" * 500

    upload = httpx.post(server.url + "/upload", content=chunks(), timeout=30)
    assert upload.text.splitlines()[-1] == "1500"
    server.wait_for(r'necktie\.access: 127\.0\.0\.1 "POST /upload HTTP/1\.1" 200 ')
    assert server.stop() == 0
