"""schemathesis against examples/openapi_app.py served live, from its own /openapi.json: a bounded number
of generated requests per operation, no 5xx, and every answer conforms to what the document says."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from necktie_testing import LiveServer
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "openapi_app.py"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def load_example():
    spec = importlib.util.spec_from_file_location("openapi_app_fuzzed", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=["3.1.0", "3.2.0"])
def live_schema(request):
    """The example app on a real loopback port; schemathesis reads the document the app serves."""
    app = load_example().app
    app.config.OPENAPI_VERSION = request.param
    with LiveServer(app) as server:
        yield schemathesis.openapi.from_url(f"{server.url}/openapi.json")


@schemathesis.serializer("application/x-ndjson")
def ndjson_body(ctx, value):
    """In 3.1 an NDJSON body's schema is one line's: the generated value is sent as one line."""
    return json.dumps(value).encode() + b"\n"


# schemathesis's own pytest integration does not load under this pytest: each operation is a test here, its
# cases drawn by hypothesis from schemathesis's strategy for it.
OPERATIONS = [(method.upper(), path) for path, item in load_example().app.openapi()["paths"].items()
              for method in item]


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_the_live_app_keeps_its_document(live_schema, method, path):
    operation = live_schema[path][method]
    seen = []

    @given(case=operation.as_strategy())
    @settings(max_examples=15, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call_and_validate(checks=CHECKS)
        seen.append(response.status_code)

    run()
    assert seen and all(status < 500 for status in seen)


def test_every_operation_is_fuzzed():
    assert ("POST", "/items") in OPERATIONS and ("POST", "/readings") in OPERATIONS
    assert len(OPERATIONS) == 8
