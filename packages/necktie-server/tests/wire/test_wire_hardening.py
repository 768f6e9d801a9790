"""Issue 16's connection hardening over loopback: what a rejected body keeps, bodies that drip, readers that
trickle, clients that leave mid-stream, HTTP/1.0 with Transfer-Encoding, and upgrades the server ignores.

Each test drives a real server with raw sockets; limits and rates are set small so nothing waits long, and
every wait is bounded but generous.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
import time
import tracemalloc

import pytest
from necktie_testing import LiveServer
from nt_rawhttp import connect, exchange, parse_all, read_answers, read_until_closed, send
from pynecktie import Necktie
from pynecktie.response import stream, text

MiB = 1 << 20
GET_OK = b"GET /ok HTTP/1.1\r\nHost: a\r\n\r\n"


def build_app(**config: object) -> tuple[Necktie, dict]:
    app = Necktie("hardening")
    app.config.update_config({"RESPONSE_TIMEOUT": 0, **config})
    state: dict = {"download": [], "slow_reader": [], "client_gone": threading.Event()}

    @app.get("/ok")
    async def ok(request):
        return text("ok")

    @app.post("/echo")
    async def echo(request):
        return text(request.body.decode())

    @app.post("/count")
    async def count(request):
        return text(str(len(request.body)))

    @app.post("/stream-count", stream=True)
    async def stream_count(request):
        total = 0
        while (chunk := await request.stream.get()) is not None:
            total += len(chunk)
        return text(str(total))

    @app.post("/slow-reader", stream=True, max_body_size=None)
    async def slow_reader(request):
        """Takes its body at about 64 KiB per 0.2 s: slower than REQUEST_MIN_RATE in the test using it."""
        total = owed = 0
        while (chunk := await request.stream.get()) is not None:
            total += len(chunk)
            owed += len(chunk)
            while owed >= 65536:
                owed -= 65536
                await asyncio.sleep(0.2)
        state["slow_reader"].append(total)
        return text(str(total))

    @app.get("/download")
    async def download(request):
        total = int(request.args.get("n"))
        pause_at = int(request.args.get("pause_at", -1))
        piece = b"d" * 65536

        async def body(response):
            sent = 0
            outcome = "finished"
            try:
                while sent < total:
                    if sent == pause_at:  # until the test's client has gone (bounded: 60 s at most)
                        for _ in range(6000):
                            if state["client_gone"].is_set():
                                break
                            await asyncio.sleep(0.01)
                    await response.write(piece)
                    sent += len(piece)
            except BaseException as exc:
                outcome = type(exc).__name__
                raise
            finally:
                state["download"].append((outcome, sent))

        return stream(body, content_type="application/octet-stream")

    return app, state


def wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# -- a rejected body is freed at once ----------------------------------------------------------------


def test_a_rejected_chunked_body_is_freed_at_once_without_the_collector():
    """Chunked uploads past the limit get their 413, and what they sent is released by reference counting
    alone: with the cyclic collector off, traced memory comes back to where it was."""
    app, _ = build_app(REQUEST_MAX_SIZE=4 * MiB)
    chunk = b"%x\r\n%s\r\n" % (MiB, b"c" * MiB)
    with LiveServer(app) as server:
        exchange(server.port, b"GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")  # warm up
        gc.collect()
        gc.disable()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(4):
                with connect(server.port, timeout=30) as sock:
                    sock.sendall(b"POST /count HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
                    try:
                        for _ in range(6):
                            sock.sendall(chunk)
                    except OSError:
                        pass
                    data, _ = read_until_closed(sock, timeout=30)
                answers, _ = parse_all(data)
                assert [a.status for a in answers] == [413]
            assert wait_for(lambda: not server.server.state.connections)
            time.sleep(0.2)  # the server thread finishes the callbacks of the last close
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
            gc.enable()
    assert held < 2 * MiB, f"{held / MiB:.1f} MiB still held after four rejected 4 MiB bodies"


# -- minimum data rates ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/count", "/stream-count"])
def test_a_body_that_drips_is_408_at_the_minimum_rate(path):
    """A byte every 50 ms keeps REQUEST_BODY_TIMEOUT from ever firing; the rate (here 2,000 B/s after a
    0.5 s grace) does, on buffered and stream routes alike."""
    app, _ = build_app(REQUEST_MIN_RATE=2000, REQUEST_MIN_RATE_GRACE=0.5, REQUEST_BODY_TIMEOUT=60)
    with LiveServer(app) as server, connect(server.port, timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n".encode())
        sock.settimeout(0.05)
        data = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                sock.send(b"x")
            except OSError:
                break
            try:
                got = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not got:
                break
            data += got
        sock.settimeout(10)
        rest, _ = read_until_closed(sock, timeout=10)
    answers, _ = parse_all(data + rest)
    assert [a.status for a in answers] == [408] and answers[0].closes


def test_a_stream_handler_that_reads_slowly_does_not_trip_the_request_rate():
    """The client sends as fast as it may; the handler takes about 320 KB/s, under the 1 MB/s minimum.
    Only the time the server waits on the client counts, not the time its own buffer is full."""
    app, state = build_app(REQUEST_MIN_RATE=1_000_000, REQUEST_MIN_RATE_GRACE=0.5, REQUEST_BUFFER_SIZE=65536)
    body = b"s" * (2 * MiB)
    with LiveServer(app) as server:
        request = b"POST /slow-reader HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
        answers, _, _ = exchange(server.port, request % len(body) + body, timeout=60)
    assert [(a.status, a.body) for a in answers] == [(200, str(len(body)).encode())]
    assert state["slow_reader"] == [len(body)]


def trickle_reader(port: int, path: bytes, per_read: int, pause: float, timeout: float,
                   stop=lambda: False) -> tuple[int, bool]:
    """Read a response *per_read* bytes at a time with *pause* between reads, through a tiny receive
    buffer; (bytes read, whether the server ended the connection) once it does, *stop()* is true or
    *timeout* passes."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    got = 0
    try:
        sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n\r\n")
        sock.settimeout(5)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not stop():
            try:
                data = sock.recv(per_read)
            except OSError:
                return got, True
            if not data:
                return got, True
            got += len(data)
            if pause:
                time.sleep(pause)
        return got, False
    finally:
        sock.close()


def test_a_client_reading_at_a_trickle_is_cut_at_the_minimum_response_rate():
    """1 KB/s against a 64 KB/s minimum (1 s grace): the server gives up on the connection (its writer
    stops) long before WRITE_TIMEOUT (60 s), which the client's small reads keep resetting. (The kernel
    may still deliver what it had queued: the client's view of the end lags.)"""
    app, state = build_app(RESPONSE_MIN_RATE=65536, RESPONSE_MIN_RATE_GRACE=1, WRITE_TIMEOUT=60)
    with LiveServer(app) as server:
        got, _ = trickle_reader(server.port, b"/download?n=%d" % (64 * MiB), 100, 0.1, timeout=40,
                                stop=lambda: bool(state["download"]))
        assert state["download"], f"still served after 40 s ({got} bytes read)"
    outcome, sent = state["download"][0]
    assert outcome in ("ConnectionClosed", "CancelledError") and sent < 64 * MiB


def test_a_client_reading_at_full_speed_is_not_cut_by_the_response_rate():
    app, state = build_app(RESPONSE_MIN_RATE=65536, RESPONSE_MIN_RATE_GRACE=1)
    with LiveServer(app) as server:
        got, _ = trickle_reader(server.port, b"/download?n=%d" % (16 * MiB), 65536, 0, timeout=60)
        assert wait_for(lambda: state["download"])
    assert got > 16 * MiB
    assert state["download"] == [("finished", 16 * MiB)]


# -- a client that leaves stops the handler ----------------------------------------------------------


def test_a_client_that_leaves_mid_stream_stops_an_awaiting_writer():
    """The client reads 1 MiB of a 256 MiB stream and closes: the handler's next awaited writes raise (or
    the task is cancelled) instead of running to the end with every write dropped. The transport's
    high-water mark is above the whole stream, so it never pauses the writer: only the writer's own turns
    to the loop let the server see the client go. The handler holds at 2 MiB until the client is gone, so
    what is measured is the 254 MiB after it, not a race between the writer and the client's close."""
    app, state = build_app(WRITE_BUFFER_HIGH=512 * MiB)
    total = 256 * MiB
    with LiveServer(app) as server:
        with connect(server.port, timeout=30) as sock:
            sock.sendall(b"GET /download?n=%d&pause_at=%d HTTP/1.1\r\nHost: a\r\n\r\n" % (total, 2 * MiB))
            got = 0
            while got < MiB:
                data = sock.recv(65536)
                assert data
                got += len(data)
        state["client_gone"].set()
        assert wait_for(lambda: state["download"], timeout=60)
    outcome, sent = state["download"][0]
    assert outcome in ("ConnectionClosed", "CancelledError"), (outcome, sent)
    assert sent < total


def test_a_producer_the_transport_never_slows_still_lets_other_connections_in():
    """Small awaited writes to a client that reads everything never fill the transport's buffer, yet the
    writer yields now and then: a request on another connection is answered while it runs, and its
    handler stops the stream (before the fix the stream wrote all its pieces first)."""
    app = Necktie("fair")
    app.config.update_config({"RESPONSE_TIMEOUT": 0, "WRITE_BUFFER_HIGH": 512 * MiB})
    seen = {"served": False, "pieces": 0}

    @app.get("/flag")
    async def flag(request):
        seen["served"] = True
        return text("ok")

    @app.get("/chatty")
    async def chatty(request):
        async def body(response):
            for _ in range(5_000_000):
                if seen["served"]:
                    break
                await response.write(b"x")
                seen["pieces"] += 1
        return stream(body)

    with LiveServer(app) as server, connect(server.port, timeout=60) as sock:
        sock.sendall(b"GET /chatty HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        assert sock.recv(65536)
        answers, _, _ = exchange(server.port, b"GET /flag HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                                 timeout=60)
        assert [a.status for a in answers] == [200]
        read_until_closed(sock, timeout=60)
    assert seen["pieces"] < 5_000_000


# -- protocol details --------------------------------------------------------------------------------


def test_http10_with_transfer_encoding_is_served_then_closed():
    """RFC 9112 §6.1: a request that is HTTP/1.0 and chunked is processed, then the connection closes
    (keep-alive asked for or not), so the pipelined request behind it is never answered."""
    app, _ = build_app()
    request = (b"POST /echo HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    with LiveServer(app) as server:
        answers, rest, closed = exchange(server.port, request + GET_OK)
    assert [(a.status, a.body) for a in answers] == [(200, b"hello")] and closed and rest == b""


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_an_upgrade_the_server_does_not_do_is_ignored_and_the_body_served(framing):
    """RFC 9110 §7.8: ``Upgrade: foo`` on a plain route is ignored; the handler sees the body, and the
    connection goes on (a pipelined request is answered)."""
    app, _ = build_app()
    if framing == "length":
        body = b"Content-Length: 5\r\n\r\nhello"
    else:
        body = b"Transfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n"
    request = b"POST /echo HTTP/1.1\r\nHost: a\r\nUpgrade: foo\r\nConnection: upgrade\r\n" + body
    with LiveServer(app) as server:
        for mode in ("whole", "bytes"):
            with connect(server.port) as sock:
                send(sock, request + GET_OK, mode)
                answers, _, _ = read_answers(sock, 2, ["POST", "GET"])
            assert [(a.status, a.body) for a in answers] == [(200, b"hello"), (200, b"ok")], mode
