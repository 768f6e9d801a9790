"""The response-head and body-limit rules (`pynecktie.heads`, `pynecktie.body_limit`) hold the same under
necktie-server, uvicorn, granian (raw sockets, parsed with h11) and necktie-testing's in-memory transport."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

import features_app
import pytest
from adapter_carriers import header, read_response
from necktie_testing import TestClient
from pynecktie.heads import ERROR_BODY


@dataclass(frozen=True)
class Case:
    """A request and what every carrier must answer: status, body, headers present (name: value, or None
    for "any value") and headers absent."""

    method: str
    path: str
    status: int
    body: bytes = b""
    request_body: bytes = b""
    present: dict[str, str | None] = field(default_factory=dict)
    absent: tuple[str, ...] = ()


CASES = {
    "204-no-body": Case("GET", "/rules/empty/204", 204, present={"x-kept": "1"},
                        absent=("content-type", "content-length", "transfer-encoding")),
    "304-no-body": Case("GET", "/rules/empty/304", 304, present={"x-kept": "1"},
                        absent=("content-type", "transfer-encoding")),
    "framing-headers-dropped": Case("GET", "/rules/framing", 200, b"hello",
                                    present={"content-length": "5", "x-kept": "1"},
                                    absent=("transfer-encoding",)),
    "head-has-length-no-body": Case("HEAD", "/rules/framing", 200, b"", present={"content-length": "5"},
                                    absent=("transfer-encoding",)),
    "bad-header-value-500": Case("GET", "/rules/bad-header", 500, ERROR_BODY, absent=("x-bad", "x-evil")),
    "bad-header-value-stream-500": Case("GET", "/rules/bad-header-stream", 500, ERROR_BODY,
                                        absent=("x-bad",)),
    "declared-length-streamed": Case("GET", "/rules/declared-stream", 200, b"0123456789",
                                     present={"content-length": "10"}, absent=("transfer-encoding",)),
    "head-declared-length-streamed": Case("HEAD", "/rules/declared-stream", 200, b"",
                                          present={"content-length": "10"}),
    # The route allows 16 bytes, the handler raises it to 100 before reading: a 50-byte body is taken.
    "stream-limit-raised-by-handler": Case("POST", "/rules/declared/100", 200, b"50", b"x" * 50),
    # ...or lowers it to 10: a 12-byte body (within the route's 16) is refused, on the first get().
    "stream-limit-lowered-by-handler": Case("POST", "/rules/declared/10", 413, request_body=b"x" * 12),
    "stream-limit-route": Case("POST", "/rules/declared/1000", 200, b"300", b"y" * 300),
}


def _check(case: Case, status: int, body: bytes, get) -> None:
    assert status == case.status
    if case.status != 413:
        assert body == case.body
    for name, value in case.present.items():
        assert get(name) is not None, f"{name} missing"
        if value is not None:
            assert get(name) == value, name
    for name in case.absent:
        assert get(name) is None, f"{name} present: {get(name)!r}"


@pytest.mark.parametrize("name", CASES)
def test_rules_over_the_wire(features, name):
    case = CASES[name]
    head = (f"{case.method} {case.path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Content-Length: {len(case.request_body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", features.port), timeout=30) as sock:
        sock.sendall(head + case.request_body)
        response, body = read_response(sock, case.method)
    _check(case, response.status_code, body,
           lambda n: (lambda v: None if v is None else v.decode("latin-1"))(header(response, n.encode())))


@pytest.fixture(scope="module")
def memory_client():
    with TestClient(features_app.app, mode="memory") as client:
        yield client


@pytest.mark.parametrize("name", CASES)
def test_rules_through_the_in_memory_transport(memory_client, name):
    case = CASES[name]
    response = memory_client.request(case.method, case.path, content=case.request_body)
    _check(case, response.status_code, response.content, response.headers.get)


def test_a_lowered_stream_limit_refuses_before_100_continue(features):
    """Refused on the first get(): the client waiting for 100 Continue gets the 413 instead."""
    with socket.create_connection(("127.0.0.1", features.port), timeout=30) as sock:
        sock.sendall(b"POST /rules/declared/10 HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        first = b""
        while b"\r\n" not in first:
            data = sock.recv(1)
            assert data, "closed without an answer"
            first += data
    assert first.startswith(b"HTTP/1.1 413"), first
