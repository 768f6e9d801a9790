"""The wire-level helper: exact bytes out, raw chunks in with their times, FIN and RST."""

from __future__ import annotations

import time

import pytest
from necktie_testing import LiveServer
from testing_apps import Probe, make_app


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def server(probe):
    with LiveServer(make_app(probe)) as server:
        try:
            yield server
        finally:
            probe.release.set()  # let waiting handlers end before the graceful shutdown waits for them


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.005)
    return predicate()


def test_uneven_pieces_and_a_parsed_response(server, probe):
    body = b"0123456789" * 3
    head = b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n\r\n"
    with server.raw() as raw:
        raw.send_pieces([head[:7], head[7:], body[:1], body[1:20], body[20:]])
        response = raw.read_response("POST")
        assert (response.status, response.body) == (200, b"30")
        assert response.header("Content-Length") == "2"
        # keep-alive: a second request on the same connection parses from where the first ended
        raw.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert raw.read_response().body == b"hello"
    assert b"".join(probe.chunks) == body


def test_chunks_arrive_with_their_times_while_sends_interleave(server, probe):
    with server.raw() as raw:
        raw.send(b"GET /slow-stream HTTP/1.1\r\nHost: x\r\n\r\n")
        first = raw.recv_until(b"first")
        assert first.startswith(b"HTTP/1.1 200 OK\r\n")
        assert not probe.finished.is_set()
        probe.release.set()
        raw.recv_until(b"0\r\n\r\n")
    times = [a.at for a in raw.arrivals]
    assert times == sorted(times) and times[0] == raw.first_byte_at >= 0
    assert raw.received.endswith(b"6\r\nsecond\r\n0\r\n\r\n")


def test_reset_is_seen_by_the_handler(server, probe):
    raw = server.raw()
    raw.send(b"GET /until-gone HTTP/1.1\r\nHost: x\r\n\r\n")
    raw.recv_until(b"tick")
    raw.reset()
    assert wait_until(lambda: probe.events[-1:] == ["stream:CancelledError"]), probe.events


def test_fin_mid_body_fails_the_handler_read(server, probe):
    with server.raw() as raw:
        raw.send(b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        assert wait_until(lambda: probe.chunks == [b"abc"])
        raw.shutdown_write()
        assert wait_until(lambda: any(e.startswith("body:") for e in probe.events)), probe.events
    assert probe.events[-1] == "body:ConnectionClosed"


def test_every_read_times_out(server):
    with server.raw(timeout=0.2) as raw:
        raw.send(b"GET /stall HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(TimeoutError):
            raw.recv()
        with pytest.raises(TimeoutError):
            raw.read_response()
