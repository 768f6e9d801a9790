"""Seeing what happens: request ids, JSON logs, Prometheus metrics and OpenTelemetry spans.

Run it with ``necktie observability:app`` (from this directory) and try ``curl -i localhost:8000/orders/7``,
then ``curl localhost:8000/metrics``. docs/observability.md quotes it; tests/examples runs it.
"""

from __future__ import annotations

import logging

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from pynecktie import Necktie
from pynecktie.response import json, stream

app = Necktie("observability")
app.config.REQUEST_ID = True  # X-Request-ID echoed, and on every log record of the request
app.config.LOG_FORMAT = "json"  # one JSON object per line
app.config.METRICS_PATH = "/metrics"  # pip install "necktie-core[metrics]"
app.config.TRACING = True  # pip install "necktie-core[otel]"

log = logging.getLogger("shop")


@app.get("/orders/<order_id:int>")
async def order(request, order_id):
    log.warning("order %s looked up", order_id)  # this record carries the request's id
    return json({"order": order_id, "request_id": request.id})


@app.get("/export")
async def export(request):
    async def rows(response):
        for n in range(3):
            await response.write(f"row {n}\n")

    return stream(rows, content_type="text/plain")


def send_spans_to(exporter: SpanExporter) -> TracerProvider:
    """Where the spans go: in production an OTLP exporter (``opentelemetry-exporter-otlp``)."""
    provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider
