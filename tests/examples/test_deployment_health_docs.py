"""docs/deployment.md's health probes, as real tests of examples/deployment.py (the page quotes it)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from necktie_testing import TestClient

ROOT = Path(__file__).resolve().parents[2]


def load_app():
    path = ROOT / "examples" / "deployment.py"
    spec = importlib.util.spec_from_file_location("docs_example_deployment_health", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.app


def test_ready_while_the_pool_is_connected_then_not():
    app = load_app()
    with TestClient(app) as client:
        assert client.get("/livez").json() == {"status": "alive"}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "checks": {"database": "ok"}}
        app.ctx.pool["connected"] = False
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "not ready", "checks": {"database": "failing"}}
        assert client.get("/livez").status_code == 200


def test_draining_is_503():
    app = load_app()
    with TestClient(app) as client:
        app.health.begin_drain()
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "draining"}
