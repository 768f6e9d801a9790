"""Liveness and readiness probes (examples/deployment.py) answer alike under necktie-server, uvicorn and
granian: they are routes of the app, not of a carrier."""

from __future__ import annotations

import json

import pytest
from adapter_carriers import EXAMPLES, header, request, serving


@pytest.fixture(scope="module")
def deployment_app(carrier, tmp_path_factory):
    with serving(carrier, "deployment", EXAMPLES, tmp_path_factory.mktemp("health") / "log") as server:
        yield server


def test_liveness_and_readiness(deployment_app):
    response, body = request(deployment_app.port, "GET", "/livez")
    assert response.status_code == 200 and json.loads(body) == {"status": "alive"}
    assert header(response, b"cache-control") == b"no-store"
    response, body = request(deployment_app.port, "GET", "/readyz")
    assert response.status_code == 200
    assert json.loads(body) == {"status": "ready", "checks": {"database": "ok"}}
