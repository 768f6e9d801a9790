"""Response compression under necktie-server, uvicorn and granian: raw sockets, h11, the real decoders."""

from __future__ import annotations

import json
import socket
import zlib
from pathlib import Path

import brotli
import compression_app
import h11
import psutil
import pytest
import zstandard
from adapter_carriers import HERE, header, request, serving


def _decode(coding: bytes | None, body: bytes) -> bytes:
    if coding is None:
        return body
    if coding == b"gzip":
        return zlib.decompress(body, 31)
    if coding == b"br":
        return brotli.decompress(body)
    if coding == b"zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    raise AssertionError(coding)


@pytest.fixture(scope="module")
def served(carrier, tmp_path_factory):
    """`compression_app`, served by *carrier*, with a static directory of precompressed siblings
    (RELIABILITY.md G: one of them a symlink out of the root)."""
    tree = tmp_path_factory.mktemp("compress")
    (tree / "secret").write_bytes(b"SECRET")
    root = tree / "root"
    root.mkdir()
    (root / "app.js").write_bytes(b"let x = 1;\n" * 200)
    (root / "app.js.br").write_bytes(brotli.compress(b"from the br sibling"))
    (root / "app.js.gz").symlink_to(tree / "secret")
    env = {"COMPRESSION_STATIC_DIR": str(root)}
    with serving(carrier, "compression_app", HERE, tree / "log", env=env) as server:
        yield server


def _get(server, path: str, accept: str | None = "gzip", method: str = "GET", **headers: str):
    if accept is not None:
        headers["Accept-Encoding"] = accept
    return request(server.port, method, path, headers=headers)


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_each_coding_is_sent_when_it_is_the_one_accepted(served, coding):
    response, body = _get(served, "/json", coding)
    assert header(response, b"content-encoding") == coding.encode()
    assert header(response, b"vary") == b"Accept-Encoding"
    assert header(response, b"content-length") in (None, str(len(body)).encode())
    assert json.loads(_decode(coding.encode(), body)) == compression_app.ROWS
    assert len(body) < len(json.dumps(compression_app.ROWS)) / 4


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("gzip, deflate, br, zstd", b"br"),  # equal q: the server's order (br, zstd, gzip)
        ("gzip;q=1, br;q=0.5", b"gzip"),
        ("br;q=0, *", b"zstd"),
        ("identity;q=0, *;q=0.1", b"br"),
        ("*;q=0, identity", None),
        ("deflate", None),
        ("", None),
    ],
)
def test_the_coding_is_negotiated_with_q_values(served, accept, expected):
    response, body = _get(served, "/text", accept)
    assert header(response, b"content-encoding") == expected
    assert header(response, b"vary") == b"Accept-Encoding"
    assert _decode(expected, body) == b"necktie " * 500


def test_no_accept_encoding_gets_the_identity(served):
    response, body = _get(served, "/text", None)
    assert header(response, b"content-encoding") is None
    assert body == b"necktie " * 500


@pytest.mark.parametrize(
    "path", ["/small", "/png", "/no-transform", "/flagged", "/route-off", "/bp/text"]
)
def test_responses_that_are_not_compressed(served, path):
    response, body = _get(served, path, "gzip, br, zstd")
    assert response.status_code == 200
    assert header(response, b"content-encoding") is None
    assert int(header(response, b"content-length") or len(body)) == len(body)


def test_a_route_switch_beats_its_blueprint(served):
    response, body = _get(served, "/bp/on", "gzip")
    assert header(response, b"content-encoding") == b"gzip"
    assert _decode(b"gzip", body) == b"route wins " * 200


def test_an_encoding_the_app_set_is_left_alone(served):
    response, body = _get(served, "/encoded", "gzip")
    assert header(response, b"content-encoding") == b"br"
    assert body == b"x" * 1000


def test_head_is_never_compressed(served):
    response, body = _get(served, "/text", "gzip", method="HEAD")
    assert header(response, b"content-encoding") is None
    assert header(response, b"vary") == b"Accept-Encoding"
    assert body == b""


def test_a_file_is_compressed_and_its_etag_weakened(served):
    source = Path(compression_app.__file__).read_bytes()
    response, body = _get(served, "/file", "gzip")
    assert header(response, b"content-encoding") == b"gzip"
    assert header(response, b"etag").startswith(b'W/"')
    assert _decode(b"gzip", body) == source


def test_a_range_is_never_compressed(served):
    source = Path(compression_app.__file__).read_bytes()
    response, body = _get(served, "/file", "gzip", Range="bytes=10-19")
    assert response.status_code == 206
    assert header(response, b"content-encoding") is None
    assert body == source[10:20]


def test_a_declared_length_is_dropped_from_a_compressed_stream(served):
    response, body = _get(served, "/declared", "gzip")
    assert header(response, b"content-encoding") == b"gzip"
    assert header(response, b"content-length") in (None, str(len(body)).encode())
    assert _decode(b"gzip", body) == b"y" * 1000


class _Reader:
    """Reads one streamed response off a socket with h11, a piece at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.conn = h11.Connection(h11.CLIENT)
        self.conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))

    def next(self):
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            self.conn.receive_data(self.sock.recv(1 << 20))


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_a_compressed_sse_stream_arrives_event_by_event(served, coding):
    """The server writes the next event only after this client decoded the previous one and said so:
    a compressor that held data back would hang here (bounded by the socket timeout)."""
    run = f"{served.carrier}-{coding}"
    decoder = {
        "gzip": lambda: zlib.decompressobj(31),
        "br": brotli.Decompressor,
        "zstd": lambda: zstandard.ZstdDecompressor().decompressobj(),
    }[coding]()
    decode = decoder.process if coding == "br" else decoder.decompress
    with socket.create_connection(("127.0.0.1", served.port), timeout=60) as sock:
        sock.sendall(
            f"GET /events?run={run} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: {coding}\r\n\r\n".encode()
        )
        reader = _Reader(sock)
        response = reader.next()
        assert header(response, b"content-encoding") == coding.encode()
        assert header(response, b"content-type").startswith(b"text/event-stream")
        text = b""
        for n in range(5):
            while f"data: event {n}\n\n".encode() not in text:
                event = reader.next()
                assert isinstance(event, h11.Data), f"the stream ended before event {n}: {text!r}"
                text += decode(event.data)
            assert request(served.port, "POST", f"/ack?run={run}")[0].status_code == 200
        while not isinstance(event := reader.next(), h11.EndOfMessage):
            text += decode(event.data)
    assert text.count(b"data: event") == 5


def test_a_64_mib_compressed_stream_keeps_flat_memory(served):
    process = psutil.Process(served.process.pid)
    decoder = zlib.decompressobj(31)
    before = process.memory_info().rss
    peak = before
    total = 0
    with socket.create_connection(("127.0.0.1", served.port), timeout=120) as sock:
        sock.sendall(b"GET /big?mib=64 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
        reader = _Reader(sock)
        response = reader.next()
        assert header(response, b"content-encoding") == b"gzip"
        while not isinstance(event := reader.next(), h11.EndOfMessage):
            total += len(decoder.decompress(event.data))
            if total % (8 << 20) < 65536:
                peak = max(peak, process.memory_info().rss)
    assert total == 64 << 20
    assert peak - before < 32 << 20, f"the server grew by {(peak - before) >> 20} MiB"


def test_a_static_file_prefers_its_precompressed_sibling(served):
    response, body = _get(served, "/static/app.js", "gzip, br")
    assert header(response, b"content-encoding") == b"br"
    assert brotli.decompress(body) == b"from the br sibling"


def test_a_sibling_out_of_the_root_is_never_served(served):
    """app.js.gz leads out of the root: the file is compressed on the fly instead, never the secret."""
    response, body = _get(served, "/static/app.js", "gzip")
    assert header(response, b"content-encoding") == b"gzip"
    assert _decode(b"gzip", body) == b"let x = 1;\n" * 200
    assert header(response, b"vary") == b"Accept-Encoding"
