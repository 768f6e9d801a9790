"""The OpenAPI document and its docs page are served alike by necktie-server, uvicorn and granian."""

from __future__ import annotations

import json
import sys

import pytest
from adapter_carriers import EXAMPLES, header, request, serving


@pytest.fixture(scope="module")
def openapi_app(carrier, tmp_path_factory):
    """examples/openapi_app.py (OPENAPI_SERVE on), served by *carrier*."""
    with serving(carrier, "openapi_app", EXAMPLES, tmp_path_factory.mktemp("openapi") / "log") as server:
        yield server


def expected_document():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import openapi_app
    finally:
        sys.path.remove(str(EXAMPLES))
    return openapi_app.app.openapi()


def test_the_document_is_served(openapi_app):
    response, body = request(openapi_app.port, "GET", "/openapi.json")
    assert response.status_code == 200
    assert header(response, b"content-type") == b"application/json"
    assert json.loads(body) == expected_document()


def test_the_docs_page_and_its_files_are_served(openapi_app):
    response, body = request(openapi_app.port, "GET", "/docs")
    assert response.status_code == 200
    assert b'<script src="/docs/swagger-ui-bundle.js"></script>' in body
    for name, marker in (("swagger-ui-bundle.js", b"SwaggerUIBundle"), ("swagger-ui.css", b".swagger-ui")):
        response, body = request(openapi_app.port, "GET", f"/docs/{name}")
        assert response.status_code == 200 and marker in body, name
