"""examples/limits.py (docs/limits.md): the app-wide, per-route and per-request body limits it sets."""

from __future__ import annotations

import runpy
from pathlib import Path

from necktie_testing import TestClient

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "limits.py"
MIB = 1024 * 1024


def pieces(total: int, size: int = 64 * 1024):
    """*total* bytes in chunks, sent with chunked framing (no Content-Length to refuse up front)."""
    while total > 0:
        yield b"x" * min(size, total)
        total -= size


def test_app_wide_and_per_route_limits():
    app = runpy.run_path(str(EXAMPLE))["app"]
    assert (app.config.REQUEST_TIMEOUT, app.config.KEEP_ALIVE_TIMEOUT) == (10.0, 30.0)
    with TestClient(app) as client:
        assert client.post("/comments", content=b"x" * MIB).text == f"{MIB} bytes of comment"
        assert client.post("/comments", content=b"x" * (MIB + 1)).status_code == 413
        assert client.post("/avatar", content=b"x" * 1000).text == "avatar of 1000 bytes"
        assert client.post("/avatar", content=b"x" * (64 * 1024 + 1)).status_code == 413
        assert client.put("/backup", content=pieces(3 * MIB)).json() == {"stored": 3 * MIB}


def test_a_stream_handler_sets_its_own_limit_and_cleans_up_on_413():
    app = runpy.run_path(str(EXAMPLE))["app"]
    with TestClient(app) as client:
        assert client.put("/files/pro", content=pieces(2 * MIB)).json() == {"plan": "pro", "stored": 2 * MIB}
        assert client.put("/files/free", content=pieces(2 * MIB)).status_code == 413
        declared = client.put("/files/free", content=b"x" * (300 * 1024))  # its Content-Length: no byte read
        assert declared.status_code == 413
    assert app.ctx.refused == ["free", "free"]
