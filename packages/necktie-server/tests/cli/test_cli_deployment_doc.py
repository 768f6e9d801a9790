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


def test_settings_table_lists_every_setting_with_its_default() -> None:
    rows = dict(re.findall(r"^\| `([A-Z0-9_]+)` \| `([^`]*)` \|", DOC.read_text(), flags=re.M))
    for name, field in Config.model_fields.items():
        assert name in rows, f"{name} is missing from the settings table of docs/deployment.md"
        default = f'"{field.default}"' if isinstance(field.default, str) else repr(field.default)
        assert rows[name] == default, f"{name}: the table says {rows[name]}, the model {default}"
    assert set(rows) <= set(Config.model_fields), set(rows) - set(Config.model_fields)


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
