"""docs/cors.md's examples, as real tests of examples/cors.py (the page quotes both)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from necktie_testing import TestClient
from pynecktie import Necktie
from pynecktie.response import text

ROOT = Path(__file__).resolve().parents[2]
PAGE = "http://localhost:5173"


def load_app():
    path = ROOT / "examples" / "cors.py"
    spec = importlib.util.spec_from_file_location("docs_example_cors", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.app


# -- a simple GET from the page's origin --
def test_the_page_may_read_the_items():
    with TestClient(load_app()) as client:
        response = client.get("/api/items", headers={"Origin": "http://localhost:5173"})
        assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
        assert response.headers["access-control-allow-credentials"] == "true"
        assert response.headers["access-control-expose-headers"] == "X-Total-Count"
        assert response.headers["vary"] == "Origin"


# -- another origin gets the answer, without the permission to read it --
def test_another_origin_may_not():
    with TestClient(load_app()) as client:
        response = client.get("/api/items", headers={"Origin": "https://evil.example"})
        assert response.status_code == 200  # the browser, not the server, withholds it from the page
        assert "access-control-allow-origin" not in response.headers
        assert response.headers["vary"] == "Origin"


# -- the preflight of a PUT with a custom header --
def test_the_preflight_of_a_put():
    with TestClient(load_app()) as client:
        response = client.options("/api/items/1", headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type, x-request-token",
        })
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
        assert response.headers["access-control-allow-methods"] == "OPTIONS, PUT"
        assert response.headers["access-control-allow-headers"] == "content-type, x-request-token"
        assert response.headers["access-control-max-age"] == "600"


# -- a refused preflight --
def test_a_refused_preflight():
    with TestClient(load_app()) as client:
        response = client.options("/api/items/1", headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "x-debug",
        })
        assert response.status_code == 403
        assert response.text == "CORS preflight refused: request header not allowed\n"
        assert "access-control-allow-origin" not in response.headers


# -- per route and per blueprint --
def test_the_overrides():
    with TestClient(load_app()) as client:
        health = client.get("/internal/health", headers={"Origin": "http://localhost:5173"})
        assert "access-control-allow-origin" not in health.headers
        catalogue = client.get("/public/catalogue", headers={"Origin": "https://anyone.example"})
        assert catalogue.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in catalogue.headers


# -- a stream's head carries the headers --
def test_the_stream():
    with TestClient(load_app()) as client, client.stream(
            "GET", "/api/ticks", headers={"Origin": "http://localhost:5173"}) as response:
        assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
        assert [line for line in response.iter_lines()] == ['{"tick":0}', '{"tick":1}', '{"tick":2}']


# -- credentials and "*" are refused when set --
def test_credentials_with_every_origin_are_refused():
    app = Necktie("refused")
    app.config.CORS_ORIGINS = "*"
    with pytest.raises(ValueError, match='CORS_CREDENTIALS=True cannot go with CORS_ORIGINS="\\*"'):
        app.config.CORS_CREDENTIALS = True


# -- an explicit OPTIONS route --
def test_an_own_options_route():
    app = Necktie("own_options")
    app.config.CORS_ORIGINS = ["http://localhost:5173"]

    @app.route("/upload", methods=["PUT", "OPTIONS"])
    async def upload(request):
        if request.method == "OPTIONS":
            return text("PUT a file here", headers={"Allow": "PUT, OPTIONS"})
        return text("stored")

    with TestClient(app) as client:
        plain = client.options("/upload")
        assert plain.text == "PUT a file here"
        preflight = client.options("/upload", headers={
            "Origin": "http://localhost:5173", "Access-Control-Request-Method": "PUT"})
        assert preflight.status_code == 204 and preflight.text == ""
