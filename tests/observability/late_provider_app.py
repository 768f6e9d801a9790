"""TRACING on with no tracer provider when the app starts: the application sets one later (``/install``).

``/current`` says what the handler sees as its current span; ``/spans`` lists the spans the SDK finished
once it is installed (an in-memory exporter).
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pynecktie import Necktie
from pynecktie.response import json, text

app = Necktie("late_provider")
app.config.TRACING = True
exporter = InMemorySpanExporter()


@app.get("/current")
async def current(request):
    span = trace.get_current_span()
    context = span.get_span_context()
    return json({
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "recording": span.is_recording(),
    })


@app.get("/install")
async def install(request):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return text("installed")


@app.get("/spans")
async def spans(request):
    return json([
        {"name": span.name, "attributes": dict(span.attributes or {}),
         "trace_id": format(span.context.trace_id, "032x")}
        for span in exporter.get_finished_spans()
    ])
