"""TRACING before the application sets a tracer provider: the API's no-op spans, which build nothing, still
carry the incoming trace to the handler; a provider set later is used from the next request on."""

from __future__ import annotations

import json

from adapter_carriers import eventually, get_json, request
from obs_servers import necktie
from pynecktie.tracing import _HeadersGetter

TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"
TRACEPARENT = {"traceparent": f"00-{TRACE}-{PARENT}-01"}
UNTRACED = {"trace_id": "0" * 32, "span_id": "0" * 16, "recording": False}


def test_no_provider_then_a_provider_set_later(tmp_path):
    with necktie("late_provider_app", tmp_path / "log", {}) as running:
        port = running.port
        # No provider: nothing records, but the handler runs in the incoming trace's context.
        for _ in range(2):  # in turns: what a request with no incoming context runs in is kept for the next
            seen = get_json_with(port, "/current", TRACEPARENT)
            assert seen == {"trace_id": TRACE, "span_id": PARENT, "recording": False}
            assert get_json(port, "/current") == UNTRACED
        assert request(port, "GET", "/install")[0].status_code == 200
        # From now on the provider's tracer: a recording server span, child of the incoming one.
        seen = get_json_with(port, "/current", TRACEPARENT)
        assert seen["trace_id"] == TRACE and seen["span_id"] != PARENT and seen["recording"] is True
        spans = eventually(lambda: [s for s in get_json(port, "/spans") if s["name"] == "GET /current"])
        assert len(spans) == 1 and spans[0]["trace_id"] == TRACE
        attributes = spans[0]["attributes"]
        assert attributes["url.path"] == "/current" and attributes["http.route"] == "/current"
        assert attributes["http.response.status_code"] == 200 and attributes["url.scheme"] == "http"


def get_json_with(port: int, path: str, headers: dict[str, str]):
    """GET *path* with *headers* and return its JSON body (asserting a 200)."""
    response, body = request(port, "GET", path, headers=headers)
    assert response.status_code == 200
    return json.loads(body)


def test_the_propagator_reads_the_raw_headers_as_request_headers_would():
    raw = [(b"Tracestate", b"a=1"), (b"Host", b"x"), (b"tracestate", b"b=2"), (b"TRACEPARENT", b"00-x")]
    getter = _HeadersGetter()
    assert getter.get(raw, "tracestate") == ["a=1", "b=2"]
    assert getter.get(raw, "traceparent") == ["00-x"]
    assert getter.get(raw, "baggage") is None
    assert getter.keys(raw) == ["Tracestate", "Host", "TRACEPARENT"]
