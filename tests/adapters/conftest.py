"""Fixtures: each test here runs once per carrier (necktie-server, uvicorn, granian) against a real server."""

from __future__ import annotations

import pytest
from adapter_carriers import CARRIERS, EXAMPLES, HERE, serving


@pytest.fixture(scope="module", params=CARRIERS)
def carrier(request: pytest.FixtureRequest) -> str:
    """The name of the server carrying the app."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def request_streaming(carrier, tmp_path_factory):
    """The guide's request-streaming example, served by *carrier*."""
    with serving(carrier, "request_streaming", EXAMPLES, tmp_path_factory.mktemp("rs") / "log") as server:
        yield server


@pytest.fixture(scope="module")
def response_streaming(carrier, tmp_path_factory):
    """The guide's response-streaming example, served by *carrier*."""
    with serving(carrier, "response_streaming", EXAMPLES, tmp_path_factory.mktemp("rs") / "log") as server:
        yield server


@pytest.fixture(scope="module")
def features(carrier, tmp_path_factory):
    """`features_app`: middleware, errors, listeners and disconnect probes, served by *carrier*."""
    with serving(carrier, "features_app", HERE, tmp_path_factory.mktemp("features") / "log") as server:
        yield server
