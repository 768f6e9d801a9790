"""docs/background.md's examples, as real tests of examples/background_work.py (the page quotes both)."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

from necktie_testing import TestClient

ROOT = Path(__file__).resolve().parents[2]


def load_app():
    path = ROOT / "examples" / "background_work.py"
    spec = importlib.util.spec_from_file_location("docs_example_background_work", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.app


def eventually(check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)
    return check()


# -- the app task runs while the app is served --
def test_the_task_runs_with_the_server():
    app = load_app()
    with TestClient(app) as client:
        assert client.get("/tasks").json() == ["refresh-rates"]
        assert eventually(lambda: "EUR" in app.ctx.rates)
    assert app.background.running == []  # cancelled at shut-down


# -- the response goes out first, the work follows --
def test_the_receipt_is_sent_after_the_response():
    app = load_app()
    with TestClient(app) as client:
        response = client.post("/orders", json={"email": "ann@example.com"})
        assert response.status_code == 201
        assert response.json()["order"] == 1
        assert eventually(lambda: len(client.get("/outbox").json()) == 2)
        assert client.get("/outbox").json() == [
            "receipt for order 1 to ann@example.com",
            "audit: order 1 created",
        ]


# -- shut-down waits for it --
def test_shutdown_waits_for_the_receipt():
    app = load_app()
    with TestClient(app, mode="memory") as client:
        client.post("/orders", json={"email": "bob@example.com"})
    assert app.ctx.outbox == ["receipt for order 1 to bob@example.com", "audit: order 1 created"]
