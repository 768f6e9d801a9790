"""examples/blueprints.py (docs/blueprints.md): blueprints, groups and class-based views, request by request.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from necktie_testing import TestClient

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "blueprints.py"


def load():
    spec = importlib.util.spec_from_file_location("docs_example_blueprints", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_blueprint_brings_its_routes_middleware_errors_and_listeners():
    module = load()
    with TestClient(module.app) as client:
        assert module.app.ctx.catalog_loaded is True
        found = client.get("/catalog/ties/1")
        assert found.json() == {"id": 1, "fabric": "silk"} and found.headers["x-section"] == "catalog"
        missing = client.get("/catalog/ties/9")
        assert missing.status_code == 404 and missing.json() == {"missing": "no tie 9"}
        # The blueprint's middleware and error handler stay inside the blueprint.
        other = client.get("/nowhere")
        assert other.status_code == 404 and "x-section" not in other.headers


def test_the_same_blueprint_under_several_prefixes_versions_and_hosts():
    with TestClient(load().app) as client:
        assert client.get("/ping").text == "pong from /ping"
        assert client.get("/v1/internal/ping").text == "pong from /v1/internal/ping"
        assert client.get("/internal/ping").status_code == 404
        assert client.get("/admin/", headers={"Host": "admin.example.com"}).text == "admin dashboard"
        assert client.get("/admin/").status_code == 404


def test_a_group_shares_prefix_version_and_middleware():
    with TestClient(load().app) as client:
        assert client.get("/v2/api/orders").json() == {"orders": [], "api": "v2"}
        assert client.get("/v2/api/payments/").json() == {"payments": [], "api": "v2"}
        assert client.get("/api/v2/orders").status_code == 404


def test_http_method_view_answers_each_method_it_defines():
    with TestClient(load().app) as client:
        assert client.get("/ties/1").text == "tie 1 is silk"
        assert client.put("/ties/1", json={"fabric": "linen"}).text == "tie 1 is now linen"
        assert client.get("/ties/1").text == "tie 1 is linen"
        assert client.delete("/ties/2").status_code == 204
        assert client.get("/ties/2").text == "tie 2 is unknown"
        not_allowed = client.post("/ties/1")
        assert not_allowed.status_code == 405
        assert not_allowed.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PUT"
        assert client.get("/stock").status_code == 401
        assert client.get("/stock", headers={"Authorization": "Bearer staff"}).json() == {"stock": 1}


def test_a_stream_view_method_reads_the_body_as_it_arrives():
    with TestClient(load().app) as client:
        def pieces():
            yield b"a" * 1000
            yield b"b" * 24

        assert client.put("/upload", content=pieces()).text == "received 1024 bytes"
        assert client.get("/upload").text == "send me a PUT"
        with client.duplex("PUT", "/upload") as duplex:
            duplex.send(b"x" * 10)
            duplex.send(b"y" * 5)
            assert duplex.receive_all().endswith(b"received 15 bytes")


def test_composition_view_and_url_for_blueprint_and_view_routes():
    with TestClient(load().app) as client:
        assert client.get("/notes").text == "empty"
        assert client.post("/notes", content=iter([b"knot ", b"ties"])).status_code == 201
        assert client.get("/notes").text == "knot ties"
        assert client.put("/notes", content=b"bow").status_code == 201 and client.get("/notes").text == "bow"
        assert client.delete("/notes").status_code == 405
        assert client.get("/links").json() == {"tie": "/catalog/ties/1", "orders": "/v2/api/orders/",
                                               "view": "/ties/2"}
