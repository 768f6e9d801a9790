"""docs/compression.md's examples, as real tests of examples/compression.py (the page quotes both)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from necktie_testing import TestClient

ROOT = Path(__file__).resolve().parents[2]


def load_app():
    path = ROOT / "examples" / "compression.py"
    spec = importlib.util.spec_from_file_location("docs_example_compression", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.app


# -- a client that accepts gzip gets gzip --
def test_the_report_is_compressed():
    with TestClient(load_app()) as client:
        response = client.get("/report", headers={"Accept-Encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["vary"] == "Accept-Encoding"
        assert len(response.json()["rows"]) == 1000  # decoded by the client


# -- the stream arrives compressed, line by line --
def test_the_prices_stream_is_compressed():
    with TestClient(load_app()) as client:
        response = client.get("/prices", headers={"Accept-Encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip"
        prices = [json.loads(line)["price"] for line in response.text.splitlines()]
        assert prices == [100, 101, 102]


# -- switched off for a route and for a response --
def test_what_is_never_compressed():
    with TestClient(load_app()) as client:
        for path in ("/download", "/token?echo=hi"):
            response = client.get(path, headers={"Accept-Encoding": "gzip, br, zstd"})
            assert "content-encoding" not in response.headers
