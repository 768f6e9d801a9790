"""``--reload``: an edited module is served without restarting the command."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from cli_support import Running, write_module

VERSIONED = '''
from pynecktie import Necktie
from pynecktie.response import text

app = Necktie("reloadable")

@app.get("/")
async def index(request):
    return text("version {version}")
'''


def _get_text(url: str) -> str | None:
    try:
        return httpx.get(url + "/", timeout=10).text
    except httpx.TransportError:  # between the old worker and the new one
        return None


def test_reload_serves_the_edited_module(spawn, tmp_path: Path) -> None:
    module = write_module(tmp_path, "reloadable", VERSIONED.format(version=1))
    server: Running = spawn(["reloadable:app", "--port", "0", "--reload"], tmp_path).wait_started()
    assert "debug + reload mode" in server.output
    assert _get_text(server.url) == "version 1"

    mark = len(server.lines)
    module.write_text(VERSIONED.format(version=2))
    server.wait_for(r"Reloading: reloadable\.py changed", start=mark)
    deadline = time.monotonic() + 60
    while (answer := _get_text(server.url)) != "version 2":
        assert answer in ("version 1", None)
        assert time.monotonic() < deadline, server.output
        time.sleep(0.1)

    # A change that breaks the module does not end the command; fixing it serves again.
    mark = len(server.lines)
    module.write_text("this is not python\n")
    server.wait_for(r"before serving; waiting for a file change", start=mark)
    module.write_text(VERSIONED.format(version=3))
    deadline = time.monotonic() + 60
    while _get_text(server.url) != "version 3":
        assert time.monotonic() < deadline, server.output
        time.sleep(0.1)
    assert server.stop() == 0
