"""Request ids, metrics and tracing seen from outside, under necktie-server and under uvicorn (ASGI).

The app is `observability_app`; what happens inside it (log records, finished spans) is read back over
HTTP. Counters are compared before and after, since the tests of a module share one server.
"""

from __future__ import annotations

import asyncio
import re
import socket

import pytest
from adapter_carriers import HERE, eventually, get_json, header, leave_forever_mid_stream, request, serving
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

HEX_ID = re.compile(rb"[0-9a-f]{32}")
TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"


@pytest.fixture(scope="module", params=("necktie-server", "uvicorn"))
def carrier(request: pytest.FixtureRequest) -> str:
    """The server carrying the app: natively, and as an ASGI app."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def server(carrier, tmp_path_factory):
    with serving(carrier, "observability_app", HERE, tmp_path_factory.mktemp("obs") / "log") as running:
        yield running


def scrape(port: int) -> dict[tuple[str, frozenset], float]:
    """Every sample at /metrics, by name and labels."""
    response, body = request(port, "GET", "/metrics")
    assert response.status_code == 200
    assert header(response, b"content-type").startswith(b"text/plain")
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def spans_named(port: int, name: str) -> list[dict]:
    return [span for span in get_json(port, "/spans") if span["name"] == name]


# -- request ids -------------------------------------------------------------------------------------

def test_an_acceptable_incoming_id_is_kept_echoed_and_in_the_context(server):
    response, body = request(server.port, "GET", "/items/7", headers={"X-Request-ID": "req-7.a:b/c+d=e@f"})
    assert response.status_code == 200
    assert header(response, b"x-request-id") == b"req-7.a:b/c+d=e@f"
    assert body == b'{"id":"req-7.a:b/c+d=e@f","context":"req-7.a:b/c+d=e@f","child_trace":' + body[-35:]


@pytest.mark.parametrize("incoming", ["x" * 129, "two words", "quote\"d", ""])
def test_an_unacceptable_id_is_replaced_by_a_fresh_one(server, incoming):
    response, body = request(server.port, "GET", "/items/1", headers={"X-Request-ID": incoming})
    echoed = header(response, b"x-request-id")
    assert HEX_ID.fullmatch(echoed), echoed
    assert body.startswith(b'{"id":"%s","context":"%s"' % (echoed, echoed))


def test_each_request_without_an_id_gets_its_own(server):
    first = header(request(server.port, "GET", "/hello")[0], b"x-request-id")
    second = header(request(server.port, "GET", "/hello")[0], b"x-request-id")
    assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second) and first != second


def test_every_log_record_of_a_request_carries_its_id(server):
    request(server.port, "GET", "/items/42", headers={"X-Request-ID": "logged-42"})
    response, _ = request(server.port, "GET", "/boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500 and header(response, b"x-request-id") == b"boom-1"
    records = get_json(server.port, "/records")
    assert ["item 42", "logged-42"] in records
    assert any(rid == "boom-1" and "boom" in message for message, rid in records)


def test_a_streamed_response_echoes_the_id_in_its_head(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /paused HTTP/1.1\r\nHost: x\r\nX-Request-ID: streamed-1\r\n\r\n")
        head = b""
        while b"first" not in head:
            data = sock.recv(65536)
            assert data
            head += data
        assert b"\r\nx-request-id: streamed-1\r\n" in head.lower()
        request(server.port, "GET", "/release")
        rest = head
        while not rest.endswith(b"0\r\n\r\n"):
            data = sock.recv(65536)
            assert data
            rest += data


# -- metrics ------------------------------------------------------------------------------------------

def test_requests_are_counted_by_method_route_template_and_status(server):
    before = scrape(server.port)
    for _ in range(3):
        request(server.port, "GET", "/hello")
    request(server.port, "GET", "/items/5")
    request(server.port, "GET", "/no/such/path-123")
    request(server.port, "POST", "/upload", body=b"0123456789")
    after = scrape(server.port)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    hello = {"method": "GET", "route": "/hello", "status": "200"}
    assert grew("necktie_requests_total", **hello) == 3
    assert grew("necktie_request_duration_seconds_count", **hello) == 3
    assert grew("necktie_request_duration_seconds_bucket", le="+Inf", **hello) == 3
    assert grew("necktie_response_body_bytes_total", **hello) == 3 * len(b"Hello, world!")
    assert grew("necktie_requests_total", method="GET", route="/items/<n:int>", status="200") == 1
    assert grew("necktie_requests_total", method="GET", route="(unmatched)", status="404") == 1
    assert grew("necktie_request_body_bytes_total", method="POST", route="/upload", status="200") == 10
    assert not any("path-123" in str(labels) for _, labels in after), "a raw path became a label"


def test_requests_in_flight_count_a_stream_until_it_ends(server):
    idle = value(scrape(server.port), "necktie_requests_in_flight")  # the scrape itself is one
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /paused HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"first" in sock.recv(65536) or b"first" in sock.recv(65536)
        assert value(scrape(server.port), "necktie_requests_in_flight") == idle + 1
        request(server.port, "GET", "/release")
    assert eventually(lambda: value(scrape(server.port), "necktie_requests_in_flight") == idle)


def test_a_stream_the_client_cut_is_counted_and_its_span_says_so(server):
    def aborted() -> float:
        return value(scrape(server.port), "necktie_streams_aborted_total", route="/forever")

    before = aborted()
    leave_forever_mid_stream(server.port)
    assert eventually(lambda: aborted() == before + 1)
    span = eventually(lambda: spans_named(server.port, "GET /forever"))
    assert span[-1]["status"] == "ERROR" and span[-1]["attributes"]["error.type"] == "client gone"


async def test_open_websockets_are_a_gauge(server):
    def open_ws() -> float:
        return value(scrape(server.port), "necktie_websockets_open")

    assert open_ws() == 0
    async with connect(f"ws://127.0.0.1:{server.port}/ws") as ws:
        await ws.send("hi")
        assert await ws.recv() == "hi"
        assert await asyncio.to_thread(eventually, lambda: open_ws() == 1)
    assert await asyncio.to_thread(eventually, lambda: open_ws() == 0)


def test_open_connections_are_a_gauge_under_necktie_server(server):
    if server.carrier != "necktie-server":
        # An ASGI server keeps its connections to itself: the gauge is left out rather than shown as 0.
        assert not [key for key in scrape(server.port) if key[0] == "necktie_connections_open"]
        return
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(3)]
    try:
        assert eventually(lambda: value(scrape(server.port), "necktie_connections_open") >= 4)
    finally:
        for sock in idle:
            sock.close()
    assert eventually(lambda: value(scrape(server.port), "necktie_connections_open") == 1)


# -- tracing ------------------------------------------------------------------------------------------

def test_a_server_span_continues_the_incoming_trace(server):
    response, body = request(server.port, "GET", "/items/5?x=1",
                             headers={"traceparent": f"00-{TRACE}-{PARENT}-01", "User-Agent": "probe/1"})
    assert response.status_code == 200
    assert body.endswith(b'"child_trace":"%s"}' % TRACE.encode()), "the handler's span joined the trace"
    name = "GET /items/<n:int>"
    span = eventually(lambda: [s for s in spans_named(server.port, name) if s["trace_id"] == TRACE])
    assert span, "no server span in the incoming trace"
    span = span[0]
    assert span["parent"] == PARENT and span["kind"] == "SERVER" and span["status"] == "UNSET"
    attributes = span["attributes"]
    assert attributes["http.request.method"] == "GET"
    assert attributes["http.route"] == "/items/<n:int>"
    assert attributes["url.path"] == "/items/5" and attributes["url.query"] == "x=1"
    assert attributes["url.scheme"] == "http"
    assert attributes["http.response.status_code"] == 200
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["user_agent.original"] == "probe/1"
    children = [s for s in spans_named(server.port, "client call") if s["trace_id"] == TRACE]
    assert children and children[0]["parent"] != PARENT


def test_a_streamed_span_ends_with_its_stream(server):
    before = len(spans_named(server.port, "GET /paused"))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /paused HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while b"first" not in received:
            data = sock.recv(65536)
            assert data
            received += data
        assert len(spans_named(server.port, "GET /paused")) == before, "the span ended before its stream"
        request(server.port, "GET", "/release")
        while not received.endswith(b"0\r\n\r\n"):
            data = sock.recv(65536)
            assert data
            received += data
    spans = eventually(lambda: spans_named(server.port, "GET /paused")[before:])
    assert spans and spans[0]["status"] == "UNSET"
    assert spans[0]["attributes"]["http.response.status_code"] == 200
    assert spans[0]["attributes"]["http.response.body.size"] == len(b"first\nsecond\n")


def test_a_failing_handler_makes_an_error_span(server):
    request(server.port, "GET", "/boom")
    spans = eventually(lambda: spans_named(server.port, "GET /boom"))
    assert spans[-1]["status"] == "ERROR" and spans[-1]["attributes"]["http.response.status_code"] == 500
