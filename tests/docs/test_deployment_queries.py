"""The dashboard queries of docs/deployment.md name metrics the app really exposes at ``METRICS_PATH``."""

from __future__ import annotations

import re
from pathlib import Path

from necktie_testing import TestClient
from pynecktie import Necktie
from pynecktie.response import text

ROOT = Path(__file__).resolve().parents[2]


def test_every_metric_a_query_names_is_exposed_with_the_labels_it_uses():
    page = (ROOT / "docs" / "deployment.md").read_text()
    (queries,) = re.findall(r"```text\n(# requests per second.*?)```", page, flags=re.S)
    names = set(re.findall(r"\b(necktie_[a-z_]+)\b", queries))
    assert names == {"necktie_requests_total", "necktie_request_duration_seconds_bucket"}
    app = Necktie("queries")
    app.config.METRICS_PATH = "/metrics"

    @app.get("/hello")
    async def hello(request):
        return text("hi")

    with TestClient(app) as client:
        assert client.get("/hello").status_code == 200
        exposition = client.get("/metrics").text
    for name in names:
        series = [line for line in exposition.splitlines() if line.startswith(name + "{")]
        assert any('route="/hello"' in line and 'status="200"' in line for line in series), name
        assert all("le=" in line for line in series) or not name.endswith("_bucket")
