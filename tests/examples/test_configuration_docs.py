"""examples/configuration.py (docs/configuration.md): settings from code, files, objects and NECKTIE_<NAME>.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from necktie_testing import TestClient

ROOT = Path(__file__).resolve().parents[2]


def load():
    path = ROOT / "examples" / "configuration.py"
    spec = importlib.util.spec_from_file_location("docs_example_configuration", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_settings_from_code_a_mapping_an_object_and_a_file_reach_handlers():
    module = load()
    config = module.app.config
    assert config.ACCESS_LOG is False and config.GRACEFUL_SHUTDOWN_TIMEOUT == 30.0
    assert module.strict.config.REQUEST_MAX_SIZE == 0 and module.strict.config.KEEP_ALIVE is False
    with TestClient(module.app) as client:
        assert client.get("/settings").json() == {
            "max_size": 10_000_000, "keep_alive_timeout": 15.0, "response_timeout": 30.0, "workers": 4,
            "greeting": "hello", "currency": "EUR", "missing": "default",
        }


def test_a_wrong_value_is_refused_and_named_and_the_old_one_stays():
    module = load()
    assert module.set_timeout(-1) == "REQUEST_TIMEOUT: Input should be greater than or equal to 0 (got -1)"
    assert module.set_timeout("soon").startswith("REQUEST_TIMEOUT: Input should be a valid number")
    assert module.app.config.REQUEST_TIMEOUT == 60.0
    assert module.set_timeout("5") == "ok" and module.app.config.REQUEST_TIMEOUT == 5.0


def test_environment_variables_set_defaults_and_code_wins(monkeypatch):
    monkeypatch.setenv("NECKTIE_KEEP_ALIVE_TIMEOUT", "99")
    monkeypatch.setenv("NECKTIE_WEBSOCKET_PING_INTERVAL", "0")
    monkeypatch.setenv("NECKTIE_DEBUG", "true")
    module = load()
    assert module.app.config.DEBUG is True and module.app.config.WEBSOCKET_PING_INTERVAL == 0.0
    assert module.app.config.KEEP_ALIVE_TIMEOUT == 15.0  # the example sets it in code after creation


def test_a_wrong_environment_value_fails_when_the_app_is_created(monkeypatch):
    monkeypatch.setenv("NECKTIE_WORKERS", "0")
    with pytest.raises(Exception, match="WORKERS"):
        load()
