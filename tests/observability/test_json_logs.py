"""LOG_FORMAT=json under necktie-server: access, error and application records are JSON lines, each with
its request's id; text stays the default."""

from __future__ import annotations

import json
from datetime import datetime

from adapter_carriers import eventually, header, request
from obs_servers import necktie


def json_lines(text: str) -> list[dict]:
    """Every line of the server's output, each of which must be one JSON object."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]




def test_access_error_and_application_records_are_json_lines(tmp_path):
    env = {"NECKTIE_LOG_FORMAT": "json", "NECKTIE_REQUEST_ID": "true"}
    with necktie("logged_app", tmp_path / "log", env) as running:
        response, _ = request(running.port, "GET", "/items/3", headers={"X-Request-ID": "json-3"})
        assert header(response, b"x-request-id") == b"json-3"
        request(running.port, "POST", "/upload", body=b"x" * 10, headers={"X-Request-ID": "json-up"})
        response, _ = request(running.port, "GET", "/boom", headers={"X-Request-ID": "json-boom"})
        assert response.status_code == 500

        def access_lines() -> list[dict]:
            return [r for r in json_lines(running.output()) if r["logger"] == "necktie.access"]

        assert eventually(lambda: len(access_lines()) >= 3), running.output()
    records = json_lines(running.output())
    access = {r["request_id"]: r for r in records if r["logger"] == "necktie.access"}
    item = access["json-3"]
    assert item["level"] == "INFO"
    assert item["method"] == "GET" and item["path"] == "/items/3" and item["route"] == "/items/<n:int>"
    assert item["status"] == 200 and item["bytes_out"] == len(b"item") and item["bytes_in"] == 0
    assert item["peer"] == "127.0.0.1" and isinstance(item["duration"], float)
    assert datetime.fromisoformat(item["timestamp"]).tzinfo is not None
    assert access["json-up"]["bytes_in"] == 10 and access["json-up"]["route"] == "/upload"
    assert access["json-boom"]["status"] == 500
    mine = [r for r in records if r["logger"] == "shop"]
    assert mine and mine[0]["request_id"] == "json-3" and mine[0]["level"] == "WARNING"
    assert mine[0]["message"] == 'item 3: "quoted"\nsecond line \x1b[31m'  # escaped on its line, back whole
    errors = [r for r in records if r["logger"] == "necktie.error"]
    assert errors and errors[0]["request_id"] == "json-boom"
    assert "RuntimeError: it broke" in errors[0]["exception"]


def test_text_stays_the_default(tmp_path):
    with necktie("logged_app", tmp_path / "log", {}) as running:
        response, _ = request(running.port, "GET", "/items/4")
        assert header(response, b"x-request-id") is None, "REQUEST_ID is off by default"
        assert eventually(lambda: '"GET /items/4 HTTP/1.1" 200' in running.output()), running.output()
    assert not any(line.startswith("{") for line in running.output().splitlines())
