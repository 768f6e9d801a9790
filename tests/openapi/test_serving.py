"""/openapi.json and the docs page: on in debug, one setting to turn them on or off, one to move them,
the page's files served by the app, and a page saying what to install when they are missing."""

from __future__ import annotations

import json

import pytest
from necktie_testing import TestClient
from pynecktie import Necktie
from pynecktie.config import Config
from pynecktie.openapi import serving
from pynecktie.response import text


def make_app(**settings) -> Necktie:
    app = Necktie("served", config=Config(**settings))

    @app.get("/hello")
    async def hello(request):
        """Say hello."""
        return text("hello")

    return app


def test_off_by_default_in_production():
    client = TestClient(make_app())
    assert client.get("/openapi.json").status_code == 404
    assert client.get("/docs").status_code == 404


def test_on_by_default_in_debug_and_left_out_of_the_document():
    app = make_app(DEBUG=True)
    client = TestClient(app)
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.content) == app.openapi()
    assert list(app.openapi()["paths"]) == ["/hello"]
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/docs/swagger-ui-bundle.js"></script>' in page.text
    assert '"url":"/openapi.json"' in page.text and '"validatorUrl":null' in page.text
    assert "http" not in page.text.replace('"url":"/openapi.json"', "")  # nothing from elsewhere
    bundle = client.get("/docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and b"SwaggerUIBundle" in bundle.content
    assert client.get("/docs/swagger-ui.css").status_code == 200


@pytest.mark.parametrize("settings", [{"OPENAPI_SERVE": False, "DEBUG": True}, {"OPENAPI_SERVE": False}])
def test_one_setting_turns_it_off(settings):
    client = TestClient(make_app(**settings))
    assert client.get("/openapi.json").status_code == 404
    assert client.get("/docs").status_code == 404


def test_one_setting_turns_it_on_in_production_and_another_moves_it():
    client = TestClient(make_app(OPENAPI_SERVE=True, OPENAPI_URL_PREFIX="/api/meta"))
    assert client.get("/openapi.json").status_code == 404
    assert client.get("/api/meta/openapi.json").json()["paths"].keys() == {"/hello"}
    page = client.get("/api/meta/docs")
    assert '"url":"/api/meta/openapi.json"' in page.text
    assert '<link rel="stylesheet" href="/api/meta/docs/swagger-ui.css">' in page.text
    assert client.get("/api/meta/docs/swagger-ui.css").status_code == 200


@pytest.mark.parametrize("prefix", ["api", "/api/", "/a<b>"])
def test_a_prefix_is_a_path_without_trailing_slash(prefix):
    with pytest.raises(ValueError):
        Config(OPENAPI_URL_PREFIX=prefix)


def test_without_the_docs_extra_the_page_says_what_to_install(monkeypatch, caplog):
    monkeypatch.setattr(serving, "assets_dir", lambda: None)
    client = TestClient(make_app(DEBUG=True))
    page = client.get("/docs")
    assert page.status_code == 501
    assert "pip install 'necktie-core[docs]'" in page.text
    assert client.get("/docs/swagger-ui-bundle.js").status_code == 404
    assert client.get("/openapi.json").status_code == 200  # the document needs nothing more
    assert any("necktie-core[docs]" in r.getMessage() for r in caplog.records)


def test_an_app_route_at_the_same_path_wins(caplog):
    app = make_app(DEBUG=True)

    @app.get("/openapi.json")
    async def mine(request):
        return text("mine")

    client = TestClient(app)
    assert client.get("/openapi.json").text == "mine"
    assert any("not serving" in r.getMessage() for r in caplog.records)
