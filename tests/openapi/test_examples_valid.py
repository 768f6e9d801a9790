"""Every example app's document is a valid OpenAPI document (openapi-spec-validator), in 3.1 and in 3.2."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, OpenAPIV32SpecValidator
from pynecktie import Necktie

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
APPS = sorted(p for p in EXAMPLES.glob("*.py") if "\napp = " in p.read_text())


def load_app(path: Path) -> Necktie:
    spec = importlib.util.spec_from_file_location(f"openapi_example_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app  # type: ignore[no-any-return]


def test_the_examples_are_found():
    assert len(APPS) >= 20 and EXAMPLES / "openapi_app.py" in APPS


@pytest.mark.parametrize("path", APPS, ids=lambda p: p.stem)
def test_the_example_documents_validate(path):
    app = load_app(path)
    doc = app.openapi()
    OpenAPIV31SpecValidator(doc).validate()
    routes = [r for r in app.router.routes if not r.websocket and r.ctx.get("openapi") is not False]
    assert bool(doc["paths"]) == bool(routes)
    app.config.OPENAPI_VERSION = "3.2.0"
    OpenAPIV32SpecValidator(app.openapi()).validate()
