"""An app with request ids, metrics and tracing on, the same on every carrier (tests/adapters).

What the tests cannot see from outside is read back over HTTP: ``/records`` lists the log records the
app's own logger and the error logger emitted (each with the request id `RequestIdFilter` put on it),
``/spans`` the spans the OpenTelemetry SDK finished (an in-memory exporter). ``/paused`` streams one chunk,
then waits for ``/release`` before its second and its end.
"""

from __future__ import annotations

import asyncio
import logging

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pynecktie import Necktie
from pynecktie.request_ids import RequestIdFilter, current_request_id
from pynecktie.response import json, stream, text

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)

app = Necktie("observed")
app.config.update({"REQUEST_ID": True, "METRICS_PATH": "/metrics", "TRACING": True})
app.ctx.records = []
app.ctx.release = None
tracer = trace.get_tracer("observability_app")


class Keep(logging.Handler):
    """Keeps (message, request id) of every record it sees."""

    def emit(self, record: logging.LogRecord) -> None:
        app.ctx.records.append([record.getMessage(), getattr(record, "request_id", None)])


keep = Keep()
keep.addFilter(RequestIdFilter())
for name in ("user", "necktie.error"):
    logging.getLogger(name).addHandler(keep)
log = logging.getLogger("user")
log.setLevel(logging.INFO)


@app.get("/hello")
async def hello(request):
    return text("Hello, world!")


@app.get("/items/<n:int>")
async def item(request, n):
    log.info("item %s", n)
    await asyncio.sleep(0)  # still the same request after a switch
    with tracer.start_as_current_span("client call") as child:  # what an instrumented client would do
        child_trace = format(child.get_span_context().trace_id, "032x")
    return json({"id": request.id, "context": current_request_id.get(), "child_trace": child_trace})


@app.post("/upload")
async def upload(request):
    return text(f"{len(request.body)}")


@app.get("/boom")
async def boom(request):
    raise RuntimeError("boom")


@app.get("/records")
async def records(request):
    return json(app.ctx.records)


@app.get("/spans")
async def spans(request):
    found = []
    for span in exporter.get_finished_spans():
        found.append({
            "name": span.name,
            "attributes": dict(span.attributes or {}),
            "trace_id": format(span.context.trace_id, "032x"),
            "parent": format(span.parent.span_id, "016x") if span.parent else None,
            "status": span.status.status_code.name,
            "description": span.status.description,
            "kind": span.kind.name,
        })
    return json(found)


@app.get("/paused")
async def paused(request):
    app.ctx.release = asyncio.Event()

    async def fn(response):
        await response.write(b"first\n")
        await app.ctx.release.wait()
        await response.write(b"second\n")
    return stream(fn)


@app.get("/release")
async def release(request):
    app.ctx.release.set()
    return text("released")


@app.get("/forever")
async def forever(request):
    async def fn(response):
        while True:
            await response.write(b"tick\n")
            await asyncio.sleep(0.01)
    return stream(fn)


@app.websocket("/ws")
async def echo(request, ws):
    async for message in ws:
        await ws.send(message)
