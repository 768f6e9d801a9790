"""docs/observability.md's examples, as real tests of examples/observability.py (the page quotes both):
served by necktie-server for the logs and metrics, in process with the SDK's exporter for the spans."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from necktie_testing import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

ROOT = Path(__file__).resolve().parents[2]
TRACE = "0af7651916cd43dd8448eb211c80319c"
sys.path.insert(0, str(ROOT / "tests" / "observability"))
from adapter_carriers import eventually, header, request  # noqa: E402
from obs_servers import necktie  # noqa: E402


def load_example():
    path = ROOT / "examples" / "observability.py"
    spec = importlib.util.spec_from_file_location("docs_example_observability", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_ids_logs_and_metrics_under_necktie_server(tmp_path):
    with necktie("observability", tmp_path / "log", {}, cwd=ROOT / "examples") as running:
        response, body = request(running.port, "GET", "/orders/7", headers={"X-Request-ID": "order-7"})
        assert header(response, b"x-request-id") == b"order-7"
        assert json.loads(body) == {"order": 7, "request_id": "order-7"}
        _, metrics = request(running.port, "GET", "/metrics")
        counted = b'necktie_requests_total{method="GET",route="/orders/<order_id:int>",status="200"} 1.0'
        assert counted in metrics

        def lines() -> list[dict]:
            return [json.loads(line) for line in running.output().splitlines() if line.startswith("{")]

        assert eventually(lambda: any(r["logger"] == "necktie.access" for r in lines())), running.output()
    shop = [r for r in lines() if r["logger"] == "shop"]
    assert shop[0]["message"] == "order 7 looked up" and shop[0]["request_id"] == "order-7"
    access = [r for r in lines() if r["logger"] == "necktie.access" and r.get("request_id") == "order-7"]
    assert access[0]["route"] == "/orders/<order_id:int>" and access[0]["status"] == 200


# -- the spans, caught by the SDK's in-memory exporter --
def test_a_span_per_request():
    example = load_example()
    exporter = InMemorySpanExporter()
    provider = example.send_spans_to(exporter)
    with TestClient(example.app) as client:
        client.get("/orders/7", headers={"traceparent": f"00-{TRACE}-b7ad6b7169203331-01"})
        client.get("/export")
    provider.force_flush()
    order, export = exporter.get_finished_spans()
    assert order.name == "GET /orders/<order_id:int>"
    assert order.attributes["http.route"] == "/orders/<order_id:int>"
    assert order.attributes["http.response.status_code"] == 200
    assert format(order.context.trace_id, "032x") == TRACE
    assert export.attributes["http.response.body.size"] == len("row 0\nrow 1\nrow 2\n")
