"""The streaming formats through necktie-testing's TestClient, in both modes (live socket, in memory)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys

import pytest
import streaming_apps
from adapter_carriers import EXAMPLES
from httpx_sse import connect_sse
from necktie_testing import TestClient


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"tc_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.app


@pytest.fixture(scope="module", params=["live", "memory"])
def clients(request):
    """A started TestClient per app (the examples and the tests' own routes), all in one mode."""
    apps = {name: _load(name) for name in ("multipart_upload", "ndjson_stream", "sse_events", "validation")}
    apps["streaming_apps"] = streaming_apps.app
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(TestClient(app, mode=request.param)) for name, app in apps.items()}


def test_multipart_parts_arrive_while_the_upload_is_open(clients):
    client = clients["streaming_apps"]
    boundary = b"tcB0undary"
    head = b"--tcB0undary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
    with client.duplex("POST", "/mp/heads",
                       headers={"Content-Type": "multipart/form-data; boundary=tcB0undary"}) as duplex:
        duplex.send(head + b"first half ")
        assert b'{"start":"a"}' in duplex.receive_until(b'{"start":"a"}')
        duplex.send(b"second half\r\n--" + boundary + b"--\r\n")
        rest = duplex.receive_all()
    assert b'{"end":"a","size":22}\n' in rest


def test_ndjson_acknowledged_line_by_line(clients):
    with clients["ndjson_stream"].duplex("POST", "/ingest") as duplex:
        duplex.send(b'{"seq":1,"value":1}\n{"seq":2,')
        assert b'{"seq":1,"double":2.0}\n' in duplex.receive_until(b"\n")
        duplex.send(b'"value":2}\n')
        body = duplex.receive_all()
    assert body.endswith(b'{"seq":2,"double":4.0}\n')


def test_sse_through_an_sse_client(clients):
    with connect_sse(clients["sse_events"], "GET", "/events", headers={"Last-Event-ID": "2"}) as source:
        assert [(e.id, e.data) for e in source.iter_sse()] == [
            ("3", "tick 3\nof 5"), ("4", "tick 4\nof 5"), ("5", "tick 5\nof 5")]


def test_upload_and_validation(clients):
    response = clients["multipart_upload"].post("/upload", data={"t": "x"}, files={"f": ("a.txt", b"abc")})
    assert response.json()["files"][0]["size"] == 3
    client = clients["validation"]
    response = client.post("/items", json={"name": "tie", "price": 0})
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == [["price"]]
    assert json.loads(client.post("/items", json={"name": "t", "price": 1}).content) == {
        "name": "t", "price": 1.0, "tags": []}
