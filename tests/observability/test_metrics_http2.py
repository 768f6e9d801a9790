"""METRICS_PATH under necktie-server's HTTP/2: each stream's response is counted as an HTTP/1.1 one is."""

from __future__ import annotations

import httpx
from obs_servers import necktie
from prometheus_client.parser import text_string_to_metric_families

PID = {"method": "GET", "route": "/pid", "status": "200"}


def test_http2_streams_are_counted(tmp_path):
    with necktie("counted_app", tmp_path / "log", {}, "--http2") as running:
        base = f"http://127.0.0.1:{running.port}"
        with httpx.Client(http1=False, http2=True) as client:  # cleartext: prior knowledge
            for _ in range(5):
                response = client.get(f"{base}/pid")
                assert response.http_version == "HTTP/2" and response.status_code == 200
            metrics = client.get(f"{base}/metrics").text
    samples = {(s.name, frozenset(s.labels.items())): s.value
               for family in text_string_to_metric_families(metrics) for s in family.samples}
    assert samples[("necktie_requests_total", frozenset(PID.items()))] == 5
    assert samples[("necktie_response_body_bytes_total", frozenset(PID.items()))] > 0
