"""Incremental multipart over real sockets: parts as they arrive, limits, malformed bodies, flat memory."""

from __future__ import annotations

import json
import os
import socket
import time
import zlib
from pathlib import Path

import httpx
import psutil
import pytest
from adapter_carriers import EXAMPLES, exchange, launch, read_response

BOUNDARY = "necktieBoundary7MA4YWxkTrZu0gW"


def _part(name: str, body: bytes, filename: str | None = None, ctype: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
    if ctype:
        head += f"Content-Type: {ctype}\r\n"
    return head.encode() + b"\r\n" + body + b"\r\n"


def _body(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def _post(port: int, path: str, body: bytes, ctype: str | None = None) -> tuple[int, bytes]:
    ctype = ctype or f"multipart/form-data; boundary={BOUNDARY}"
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
    response, received = exchange(port, head.encode() + body)
    return response.status_code, received


def test_fields_and_files_from_a_real_client(upload_example):
    payload = os.urandom(300_000) + b"\r\n--" + BOUNDARY.encode()[:10]  # looks like a boundary, is not
    response = httpx.post(
        f"http://127.0.0.1:{upload_example.port}/upload",
        data={"title": "héllo wörld", "empty": ""},
        files={"photo": ("fïle.bin", payload, "image/x-test"), "notes": ("n.txt", b"", "text/plain")},
    )
    assert response.status_code == 200
    assert response.json() == {
        "fields": {"title": "héllo wörld", "empty": ""},
        "files": [
            {"name": "photo", "filename": "fïle.bin", "content_type": "image/x-test", "size": len(payload),
             "crc32": zlib.crc32(payload)},
            {"name": "notes", "filename": "n.txt", "content_type": "text/plain", "size": 0, "crc32": 0},
        ],
    }


def test_each_part_is_handed_over_before_the_next_is_sent(apps):
    """The handler announces part `a` while its body is still open and part `b` not yet sent."""
    with socket.create_connection(("127.0.0.1", apps.port), timeout=10) as sock:
        sock.sendall(b"POST /mp/heads HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     b"Content-Type: multipart/form-data; boundary=" + BOUNDARY.encode() + b"\r\n\r\n")

        def chunk(data: bytes) -> None:
            sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")

        def read_until(marker: bytes, received: bytes) -> bytes:
            while marker not in received:
                data = sock.recv(65536)
                assert data, f"connection closed before {marker!r}"
                received += data
            return received

        first = _part("a", b"x" * 1000)
        chunk(first[:-500])  # the head and part of the body of `a`
        received = read_until(b'{"start":"a"}', b"")
        assert b'"end"' not in received
        second = _part("b", b"yy")
        chunk(first[-500:] + second[:-4])  # the rest of `a`, then the head of `b` (the boundary ends `a`)
        received = read_until(b'{"start":"b"}', received)
        assert b'{"end":"a","size":1000}\n' in received
        chunk(second[-4:] + f"--{BOUNDARY}--\r\n".encode())
        sock.sendall(b"0\r\n\r\n")
        received = read_until(b"0\r\n\r\n", received)
    assert b'{"end":"b","size":2}\n' in received


def test_unread_parts_are_skipped(apps):
    body = _body(_part("skip1", b"s" * 100_000), _part("keep1", b"one"),
                 _part("skip2", b"zz", "f.bin"), _part("keep2", b"two"))
    status, received = _post(apps.port, "/mp/skip", body)
    assert status == 200
    assert json.loads(received) == {"seen": ["skip1", "keep1", "skip2", "keep2"],
                                    "kept": {"keep1": "one", "keep2": "two"}}


def test_a_part_left_behind_cannot_be_read(apps):
    status, received = _post(apps.port, "/mp/stale", _body(_part("a", b"1"), _part("b", b"2")))
    assert status == 200
    assert "only the current multipart part" in json.loads(received)["error"]


def test_limits_within_bounds_pass(apps):
    status, received = _post(apps.port, "/mp/limited", _body(_part("a", b"0123456789"), _part("b", b"")))
    assert (status, json.loads(received)) == (200, {"a": "0123456789", "b": ""})


@pytest.mark.parametrize(("body", "status", "message"), [
    (_body(*[_part(f"f{i}", b"v") for i in range(4)]), 413, b"Too many multipart parts (more than 3)"),
    (_body(_part("big", b"x" * 11)), 413, b"exceeds 10 bytes"),
    (_body(_part("h", b"v", ctype="text/plain; " + "x" * 300)), 413, b"header exceeds 200 bytes"),
    (_body(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"a\"\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\nv\r\n"
           .encode()), 413, b"more than 3 headers"),
])
def test_limits(apps, body, status, message):
    got, received = _post(apps.port, "/mp/limited", body)
    assert got == status
    assert message in received


def _both(port: int, body: bytes) -> list[tuple[int, bytes]]:
    """The answers of the buffered parser (request.form) and of the streaming one (multipart()) to *body*."""
    return [_post(port, path, body) for path in ("/mp/form", "/mp/collect")]


def _head_of(size: int) -> bytes:
    """A part whose Content-Type header line (name and value) is *size* bytes."""
    value = "text/plain; x=" + "v" * (size - len("Content-Type") - len("text/plain; x="))
    return _part("h", b"v", ctype=value)


def test_the_same_part_headers_pass_both_parsers(apps):
    """A 7 KB part header passes request.form and multipart() alike (it was a 400 for request.form only)."""
    body = _body(_head_of(7 * 1024), _part("f", b"data", "f.bin"))
    for status, received in _both(apps.port, body):
        assert status == 200, received
        assert json.loads(received) == {"fields": {"h": ["v"]}, "files": {"f": [4]}}


@pytest.mark.parametrize(("body", "message"), [
    (_body(_head_of(8193)), b"A multipart part's header exceeds 8192 bytes"),
    (_body(_part("h", b"v", ctype="a/b; " + "x" * 20_000)), b"A multipart part's header exceeds 8192 bytes"),
    (_body(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"a\"\r\n".encode()
           + b"".join(b"X-%d: 1\r\n" % i for i in range(16)) + b"\r\nv\r\n"), b"more than 16 headers"),
    (_body(*[_part("f", b"") for _ in range(1001)]), b"Too many multipart parts (more than 1000)"),
    (_body(_part("big", b"x" * ((1 << 20) + 1))), b"Multipart part 'big' exceeds 1048576 bytes"),
])
def test_the_same_limits_give_the_same_413_through_both(apps, body, message):
    for status, received in _both(apps.port, body):
        assert status == 413, received[:200]
        assert message in received


@pytest.mark.parametrize(("body", "status", "message"), [
    (_body(*[_part(f"f{i}", b"v") for i in range(3)]), 200, b'"f2":["v"]'),
    (_body(*[_part(f"f{i}", b"v") for i in range(4)]), 413, b"Too many multipart parts (more than 3)"),
    (_body(_part("a", b"x" * 10)), 200, b'"a":["xxxxxxxxxx"]'),
    (_body(_part("a", b"x" * 11)), 413, b"Multipart part 'a' exceeds 10 bytes"),
    (_body(_part("f", b"x" * 1000, "f.bin")), 200, b'"f":[1000]'),  # a file is not a field: not held to it
    (_body(_head_of(200)), 200, b'"h":["v"]'),
    (_body(_head_of(201)), 413, b"A multipart part's header exceeds 200 bytes"),
    (_body(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"a\"\r\nA: 1\r\nB: 2\r\n\r\nv\r\n"
           .encode()), 200, b'"a":["v"]'),
    (_body(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"a\"\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\nv\r\n"
           .encode()), 413, b"more than 3 headers"),
])
def test_limits_are_the_settings_for_both(limited_apps, body, status, message):
    """MULTIPART_* settings (here from NECKTIE_* variables) bound both parsers, on each side of each limit."""
    for got, received in _both(limited_apps.port, body):
        assert got == status, received[:200]
        assert message in received


@pytest.mark.parametrize(("body", "ctype", "message"), [
    (b"not multipart at all", None, b"Malformed multipart body"),
    (_part("a", b"1"), None, b"ended before its closing boundary"),  # truncated: no closing boundary
    (b"", None, b"ended before its closing boundary"),
    (f"--{BOUNDARY}\r\nContent-Disposition: form-data\r\nBad Header: x\r\n\r\n".encode(), None,
     b"Malformed multipart body"),
    (_body(_part("a", b"1")), "multipart/form-data", b"no valid boundary"),
    (_body(_part("a", b"1")), "application/json", b"Expected a multipart/form-data body"),
])
def test_malformed_is_400(apps, body, ctype, message):
    status, received = _post(apps.port, "/mp/limited", body, ctype)
    assert status == 400
    assert message in received


def _peak_rss_kib(pid: int) -> int:
    """The highest peak RSS (VmHWM) among the server process and its children (granian forks workers)."""
    root = psutil.Process(pid)
    peaks = []
    for proc in [root, *root.children(recursive=True)]:
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]))
    return max(peaks)


UPLOAD_SIZE = int(os.environ.get("NECKTIE_TEST_UPLOAD_BYTES", 1 << 30))


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_one_gib_upload_in_flat_memory(carrier, tmp_path):
    """A 1 GiB file part streams through multipart() while the server's peak RSS stays far below it.

    The upload is generated on the fly from one random MiB sent over and over, and checked by CRC-32.
    """
    server = launch(carrier, "multipart_upload", EXAMPLES, tmp_path / "log")
    try:
        warm = _part("title", b"warm-up") + _part("f", os.urandom(1 << 20), "w.bin")
        status, _ = _post(server.port, "/upload", _body(warm))
        assert status == 200
        baseline = _peak_rss_kib(server.process.pid)

        block = os.urandom(1 << 20)
        blocks = UPLOAD_SIZE // len(block)
        head = _part("title", b"big one") + (
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
        tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        length = len(head) + blocks * len(block) + len(tail)
        started = time.monotonic()
        crc = 0
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
            sock.sendall(f"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\nContent-Type: "
                         f"multipart/form-data; boundary={BOUNDARY}\r\n\r\n".encode() + head)
            for _ in range(blocks):
                sock.sendall(block)
                crc = zlib.crc32(block, crc)
            sock.sendall(tail)
            response, received = read_response(sock, "POST")
        elapsed = time.monotonic() - started
        peak = _peak_rss_kib(server.process.pid)
        assert response.status_code == 200
        assert json.loads(received) == {"fields": {"title": "big one"}, "files": [
            {"name": "file", "filename": "big.bin", "content_type": "application/octet-stream",
             "size": blocks * len(block), "crc32": crc}]}
        print(f"\n{carrier}: {blocks} MiB through multipart() in {elapsed:.1f} s; server peak RSS "
              f"{baseline // 1024} MiB before, {peak // 1024} MiB after")
        assert peak - baseline < 64 * 1024, f"server peak memory grew by {(peak - baseline) // 1024} MiB"
        assert peak < 256 * 1024
    finally:
        server.stop()
