"""docs/openapi.md: examples/openapi_app.py behaves as the page says, and its document says what the page
says it does."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from necktie_testing import TestClient

ROOT = Path(__file__).resolve().parents[2]


def load_app():
    spec = importlib.util.spec_from_file_location("openapi_doc_example", ROOT / "examples" / "openapi_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def test_the_routes_answer_as_documented():
    client = TestClient(load_app())
    created = client.post("/items", json={"name": "tie", "price": 9.5})
    assert created.status_code == 201
    assert created.json() == {"name": "tie", "price": 9.5, "tags": [], "id": 1}
    refused = client.post("/items", json={"name": "", "price": 0})
    assert refused.status_code == 422
    assert [e["loc"] for e in refused.json()["errors"]] == [["name"], ["price"]]
    assert client.get("/items/1").json()["name"] == "tie"
    assert client.get("/items/2").status_code == 404
    assert client.get("/items", params={"q": "ti"}).json() == [created.json()]
    assert client.get("/items", params={"limit": 0}).status_code == 422
    lines = client.post("/readings", content=b'{"seq":1,"value":2}\n{"seq":"x"}\n',
                        headers={"content-type": "application/x-ndjson"}).text.splitlines()
    assert json.loads(lines[0]) == {"seq": 1, "double": 4.0}
    assert json.loads(lines[1])["line"] == 2
    events = client.get("/prices").text
    assert events.count("event: price") == 3 and 'data: {"symbol":"NT","price":1.5}' in events
    receipt = client.post("/photos", data={"title": "beach"}, files={"photo": ("b.jpg", b"x" * 1000)})
    assert receipt.json()["title"] == "beach" and receipt.json()["size"] == 1000
    assert client.get("/reports/summary").json() == {"items": 1, "total_price": 9.5}
    assert client.get("/reports/legacy-summary").json() == {"items": 1, "total_price": 9.5}
    assert client.get("/internal/health").json() == {"ok": True}


def test_the_document_says_what_the_page_says():
    doc = load_app().openapi()
    assert doc["info"] == {"title": "Inventory", "version": "1.0.0"}
    create = doc["paths"]["/items"]["post"]
    assert create["operationId"] == "create_item" and create["summary"] == "Add an item."
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Item"}
    assert set(create["responses"]) == {"201", "422"}
    assert doc["paths"]["/items/{item_id}"]["get"]["parameters"][0]["schema"] == {"type": "integer"}
    assert doc["paths"]["/reports/summary"]["get"]["tags"] == ["reports"]
    assert doc["paths"]["/reports/summary"]["get"]["responses"]["200"]["content"]["application/json"] == {
        "schema": {"$ref": "#/components/schemas/Summary"}}
    assert doc["paths"]["/reports/legacy-summary"]["get"]["deprecated"] is True
    assert "/internal/health" not in doc["paths"]
    ack = doc["paths"]["/readings"]["post"]["responses"]["200"]["content"]["application/x-ndjson"]["schema"]
    assert ack == {"anyOf": [{"$ref": "#/components/schemas/Ack"},
                             {"$ref": "#/components/schemas/LineError"}]}
