"""Back-pressure measured on the server process: its resident memory must stay far below the data volume.

The server runs in a child process (``nt_proc``) so ``/proc/<pid>/status`` is its memory alone. Bounds
are generous for a busy machine, yet a small fraction of what goes through.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from nt_proc import ServerProcess
from nt_rawhttp import connect, parse_all, read_until_closed

MiB = 1 << 20


@pytest.fixture(scope="module")
def server():
    with ServerProcess(REQUEST_BUFFER_SIZE=MiB, WRITE_TIMEOUT=3, KEEP_ALIVE_TIMEOUT=30,
                       RESPONSE_TIMEOUT=0, PIPELINE_MAX_REQUESTS=32) as proc:
        for _ in range(20):  # warm up: imports, first requests, allocator arenas
            proc.get("/ok")
        yield proc
        proc.assert_clean_log()


def test_512_mib_upload_into_a_sleepy_handler_keeps_memory_flat(server):
    before = server.rss()
    total = 512 * MiB
    block = b"u" * MiB
    with connect(server.port, timeout=120) as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % total)
        peak = 0
        for i in range(512):
            sock.sendall(block)
            if i % 32 == 0:
                peak = max(peak, server.rss())
        sock.settimeout(120)
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.endswith(str(total).encode()):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    peak = max(peak, server.rss())
    assert reply.endswith(str(total).encode()), reply[:200]
    assert peak - before < 48 * MiB, f"RSS grew by {(peak - before) / MiB:.1f} MiB for a 512 MiB upload"


def test_a_client_that_stops_reading_a_1_gib_stream_is_not_buffered_for(server):
    """Download back-pressure: the handler waits in write(); then the client leaves and all is released."""
    base = server.stats()
    before = server.rss()
    sock = connect(server.port, timeout=30)
    sock.sendall(b"GET /download?n=%d HTTP/1.1\r\nHost: a\r\n\r\n" % (1 << 30))
    got = 0
    while got < 65536:
        got += len(sock.recv(65536))
    time.sleep(3)  # the client stops reading for seconds
    stalled = server.rss()
    assert stalled - before < 32 * MiB, f"RSS grew by {(stalled - before) / MiB:.1f} MiB while stalled"
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()  # reset mid-download
    stats = server.wait_stats(lambda s: s["download_finally"] > base["download_finally"])
    assert stats["download_finally"] == base["download_finally"] + 1
    assert stats["download_error"] in ("ConnectionClosed", "CancelledError")
    assert stats["tasks"] <= base["tasks"]
    cpu = server.cpu_seconds()
    time.sleep(1)
    assert server.cpu_seconds() - cpu < 0.5, "the server kept working after the client left"


def test_a_slow_reader_is_aborted_at_the_write_timeout(server):
    """Catalogue 49: a tiny receive buffer, never read → RSS barely moves, aborted at WRITE_TIMEOUT (3 s)."""
    base = server.stats()
    before = server.rss()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(b"GET /download?n=%d HTTP/1.1\r\nHost: a\r\n\r\n" % (1 << 30))
    time.sleep(1.5)
    assert server.rss() - before < 16 * MiB
    stats = server.wait_stats(lambda s: s["download_finally"] > base["download_finally"], timeout=30)
    assert stats["download_finally"] == base["download_finally"] + 1
    received = 0
    try:
        while chunk := sock.recv(65536):
            received += len(chunk)
    except ConnectionResetError:
        pass
    sock.close()
    assert received < 64 * MiB, "the stream was not cut"


def test_pipelined_flood_behind_a_stalled_stream_is_not_read_into_memory(server):
    """Catalogue 37: requests behind a streaming one wait; the server stops reading instead of queueing
    them."""
    before = server.rss()
    sock = connect(server.port, timeout=30)
    sock.sendall(b"GET /download?n=%d HTTP/1.1\r\nHost: a\r\n\r\n" % (1 << 30))
    flood = b"GET /ok HTTP/1.1\r\nHost: a\r\n\r\n" * 10000
    sent = 0
    sock.settimeout(1.5)
    try:
        while sent < 64 * MiB:
            sent += sock.send(flood)
    except (TimeoutError, ConnectionResetError):
        pass
    assert sent < 64 * MiB, "the server read every pipelined request"
    assert server.rss() - before < 32 * MiB
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


def test_a_thousand_pipelined_requests_behind_a_stream_are_all_answered_in_order(server):
    payload = b"GET /download?n=%d HTTP/1.1\r\nHost: a\r\n\r\n" % (8 * MiB)
    payload += b"".join(b"GET /ok?i=%d HTTP/1.1\r\nHost: a\r\n\r\n" % i for i in range(1000))
    payload += b"GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    with connect(server.port, timeout=60) as sock:
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        data, closed = read_until_closed(sock, timeout=60, limit=64 * MiB)
        sender.join(10)
    answers, rest = parse_all(data)
    assert closed and rest == b""
    assert len(answers) == 1002 and len(answers[0].body) == 8 * MiB
    assert all(a.status == 200 and a.body == b"ok" for a in answers[1:])


def test_a_100_mb_request_target_fails_near_the_limit_with_flat_memory(server):
    """Catalogue 4: streamed target → 414 after about 8 KiB; the rest is not buffered."""
    before = server.rss()
    with connect(server.port, timeout=30) as sock:
        sock.sendall(b"GET /")
        sent = 0
        piece = b"a" * 65536
        try:
            while sent < 100_000_000:
                sent += sock.send(piece)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        data, _ = read_until_closed(sock, timeout=10)
    assert sent < 100_000_000
    assert data.startswith(b"HTTP/1.1 414 "), data[:100]
    assert server.rss() - before < 16 * MiB


def test_a_huge_header_fed_in_1_kib_pieces_is_431_with_flat_memory(server):
    """Catalogue 15: header bytes in 1 KiB sends → 431 at the limit."""
    with connect(server.port, timeout=30) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nX: ")
        sent = 0
        try:
            while sent < 10 * MiB:
                sent += sock.send(b"v" * 1024)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        data, _ = read_until_closed(sock, timeout=10)
    assert data.startswith(b"HTTP/1.1 431 "), data[:100]


@pytest.mark.parametrize("how", ["fin", "rst"])
def test_disconnect_mid_upload_releases_the_handler(server, how):
    """Catalogue 47: 10 MB declared, 1 MB sent, then FIN or RST → the handler's get() raises, finally runs."""
    base = server.stats()
    sock = connect(server.port, timeout=10)
    sock.sendall(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\n" + b"u" * MiB)
    time.sleep(0.3)
    if how == "rst":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    else:
        sock.shutdown(socket.SHUT_WR)
    sock.close()
    stats = server.wait_stats(
        lambda s: s["upload_finally"] > base["upload_finally"] and s["tasks"] <= base["tasks"]
    )
    assert stats["upload_finally"] == base["upload_finally"] + 1
    assert stats["tasks"] <= base["tasks"]
    assert stats["fds"] <= base["fds"]
