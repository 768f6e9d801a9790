"""Server-sent events on every carrier: a real SSE client, exact framing on a raw socket, keep-alive pings."""

from __future__ import annotations

import json
import socket
import struct
import time

import h11
import httpx
import pytest
from adapter_carriers import header, request
from httpx_sse import connect_sse
from pynecktie.response import Event
from pynecktie.sse import encode


def test_a_real_sse_client_reads_the_events(sse_example):
    with httpx.Client(base_url=f"http://127.0.0.1:{sse_example.port}", timeout=30) as client:
        with connect_sse(client, "GET", "/events") as source:
            events = [(e.event, e.id, e.data) for e in source.iter_sse()]
    assert events == [("tick", str(n), f"tick {n}\nof 5") for n in range(1, 6)]


def test_a_reconnecting_client_resumes_after_last_event_id(sse_example):
    with httpx.Client(base_url=f"http://127.0.0.1:{sse_example.port}", timeout=30) as client:
        with connect_sse(client, "GET", "/events", headers={"Last-Event-ID": "3"}) as source:
            assert [e.id for e in source.iter_sse()] == ["4", "5"]
        with connect_sse(client, "GET", "/mixed") as source:
            events = list(source.iter_sse())
    # httpx-sse surfaces the retry-only block as an event with empty data (a browser does not dispatch it).
    assert [e.data for e in events] == ["", "plain text", '{"kind":"dict","n":1}',
                                        '{"symbol":"NT","price":1.5}']
    assert events[0].retry == 3000
    assert events[3].json() == {"symbol": "NT", "price": 1.5}


def test_exact_framing_and_headers_on_the_wire(sse_example):
    response, body = request(sse_example.port, "GET", "/mixed")
    assert response.status_code == 200
    assert header(response, b"content-type") == b"text/event-stream; charset=utf-8"
    assert header(response, b"cache-control") == b"no-cache"
    assert header(response, b"x-accel-buffering") == b"no"
    assert body == (b": hello\nretry: 3000\n\n"
                    b"data: plain text\n\n"
                    b'data: {"kind":"dict","n":1}\n\n'
                    b'data: {"symbol":"NT","price":1.5}\n\n')
    _, body = request(sse_example.port, "GET", "/events", headers={"Last-Event-ID": "4"})
    assert body == b"event: tick\nid: 5\ndata: tick 5\ndata: of 5\n\n"


class _Stream:
    """A response read incrementally from a raw socket, its chunked body decoded by h11."""

    def __init__(self, port: int, path: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        self.conn = h11.Connection(h11.CLIENT)
        self.conn.send(h11.Request(method="GET", target=path, headers=[("Host", "x")]))
        self.body = b""
        self.ended = False

    def read_until(self, marker: bytes, start: int = 0) -> int:
        """Read until *marker* appears in the body after *start*; its position."""
        while (found := self.body.find(marker, start)) < 0:
            assert not self.ended, f"the stream ended before {marker!r}: {self.body!r}"
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(self.sock.recv(65536))
            elif isinstance(event, h11.Data):
                self.body += event.data
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                self.ended = True
        return found

    def read_to_end(self) -> None:
        while not self.ended:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(self.sock.recv(65536))
            elif isinstance(event, h11.Data):
                self.body += event.data
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                self.ended = True


def test_comments_keep_a_quiet_stream_alive(apps):
    """While the source waits, `: ping` comments flow; the next event follows once it is released."""
    stream = _Stream(apps.port, "/sse/quiet")
    try:
        first = stream.read_until(b"id: 1\ndata: first\n\n")
        ping = stream.read_until(b": ping\n\n", first)
        stream.read_until(b": ping\n\n", ping + 1)  # pings repeat while nothing else is sent
        response, body = request(apps.port, "GET", "/sse/release")
        assert (response.status_code, body) == (200, b"released")
        stream.read_until(b"data: done\n\n")
        stream.read_to_end()
    finally:
        stream.sock.close()
    assert stream.body.startswith(b"id: 1\ndata: first\n\n: ping\n\n")
    assert stream.body.endswith(b": ping\n\ndata: done\n\n")
    assert stream.body.replace(b": ping\n\n", b"") == b"id: 1\ndata: first\n\ndata: done\n\n"


def test_a_client_going_away_closes_the_event_source(apps):
    sock = socket.create_connection(("127.0.0.1", apps.port), timeout=30)
    sock.sendall(b"GET /sse/forever HTTP/1.1\r\nHost: x\r\n\r\n")
    received = b""
    while b"data: tick 3\n\n" not in received:
        data = sock.recv(65536)
        assert data, "the stream ended early"
        received += data
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # RST: the client is gone
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if json.loads(request(apps.port, "GET", "/sse/closed")[1]) == ["sse"]:
            break
        time.sleep(0.05)
    assert json.loads(request(apps.port, "GET", "/sse/closed")[1]) == ["sse"]


def test_a_client_that_reads_nothing_holds_the_source_back(apps):
    """Events are written in batches, still with back-pressure: the source is not run ahead of the socket."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", apps.port))
    try:
        sock.sendall(b"GET /sse/flood HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        sent, deadline = -1, time.monotonic() + 20
        while time.monotonic() < deadline:  # until the source stops (or the time is up)
            time.sleep(0.5)
            now = json.loads(request(apps.port, "GET", "/sse/flood-sent")[1])
            if now == sent:
                break
            sent = now
        assert 0 < sent < 20_000  # 50,000 without back-pressure; socket buffers and a write buffer with it
    finally:
        sock.close()


def test_last_event_id_on_the_request(apps):
    assert request(apps.port, "GET", "/sse/last-id", headers={"Last-Event-ID": "abc"})[1] == b"'abc'"
    assert request(apps.port, "GET", "/sse/last-id")[1] == b"None"


@pytest.mark.parametrize(("item", "wire"), [
    ("one", b"data: one\n\n"),
    ("a\nb\r\nc\rd", b"data: a\ndata: b\ndata: c\ndata: d\n\n"),
    ("ends with a newline\n", b"data: ends with a newline\ndata: \n\n"),
    ("", b"data: \n\n"),
    (" leading space", b"data:  leading space\n\n"),
    ("x\x0by\u2028z", "data: x\x0by\u2028z\n\n".encode()),  # only CR and LF break SSE lines
    ({"a": 1}, b'data: {"a":1}\n\n'),
    ([1, "é"], 'data: [1,"é"]\n\n'.encode()),
    (Event(data="d", event="update", id="7", retry=1500), b"event: update\nid: 7\nretry: 1500\ndata: d\n\n"),
    (Event(id="8"), b"id: 8\n\n"),
    (Event(comment="two\nlines"), b": two\n: lines\n\n"),
])
def test_encoding(item, wire):
    assert encode(item) == wire


@pytest.mark.parametrize("event", [Event(data="x", event="a\nb"), Event(data="x", id="1\r"),
                                   Event(data="x", id="a\0b")])
def test_fields_that_would_break_the_framing_are_refused(event):
    with pytest.raises(ValueError):
        encode(event)
