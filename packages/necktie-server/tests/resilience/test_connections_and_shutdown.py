"""Connection floods, slowloris, idle reaping and graceful shutdown, against a server in a child process."""

from __future__ import annotations

import socket
import time

import pytest
from nt_proc import ServerProcess
from nt_rawhttp import connect, parse_all, read_answers, read_until_closed


def wait_closed(sock: socket.socket, timeout: float) -> bytes:
    data, closed = read_until_closed(sock, timeout)
    assert closed, "the server kept the connection open"
    return data


def test_graceful_shutdown_finishes_streams_closes_idle_and_exits_0():
    """Catalogue 57 and issue 3: SIGTERM → stop accepting, let the stream finish, close idle, exit 0."""
    with ServerProcess(GRACEFUL_SHUTDOWN_TIMEOUT=20, KEEP_ALIVE_TIMEOUT=60) as server:
        idle = connect(server.port, timeout=20)
        idle.sendall(b"GET /ok HTTP/1.1\r\nHost: a\r\n\r\n")
        answers, _, _ = read_answers(idle, 1)
        assert answers[0].status == 200
        streaming = connect(server.port, timeout=20)
        streaming.sendall(b"GET /ticks?n=8&delay=0.25 HTTP/1.1\r\nHost: a\r\n\r\n")
        assert streaming.recv(65536).startswith(b"HTTP/1.1 200")
        server.proc.send_signal(15)
        wait_closed(idle, 10)
        refused = False
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
            except OSError:
                refused = True
                break
            time.sleep(0.05)
        assert refused, "the server still accepted connections while shutting down"
        rest = wait_closed(streaming, 20)
        assert rest.endswith(b"0\r\n\r\n") and b"tick7 " in rest
        assert server.proc.wait(20) == 0
        server.assert_clean_log()
        idle.close()
        streaming.close()


def test_shutdown_cuts_a_stream_at_the_timeout_and_still_exits_0():
    with ServerProcess(GRACEFUL_SHUTDOWN_TIMEOUT=1) as server:
        streaming = connect(server.port, timeout=30)
        streaming.sendall(b"GET /ticks?n=1000&delay=0.1 HTTP/1.1\r\nHost: a\r\n\r\n")
        assert streaming.recv(65536).startswith(b"HTTP/1.1 200")
        server.proc.send_signal(15)
        try:
            rest = wait_closed(streaming, 20)
        except ConnectionResetError:
            rest = b""
        assert not rest.endswith(b"0\r\n\r\n")
        assert server.proc.wait(20) == 0
        server.assert_clean_log()
        streaming.close()


def test_connections_beyond_the_maximum_are_refused_with_503_and_idle_ones_are_reaped():
    """Catalogue 56 (scaled): MAX_CONNECTIONS 40, 60 idle sockets; normal requests still served after."""
    with ServerProcess(MAX_CONNECTIONS=40, KEEP_ALIVE_TIMEOUT=2) as server:
        base = server.stats()
        socks = [connect(server.port, timeout=10) for _ in range(60)]
        for sock in socks:  # each sends a request at once: the 503s must still be readable, not reset
            sock.sendall(b"GET /ok HTTP/1.1\r\nHost: a\r\n\r\n")
        statuses = []
        for sock in socks:
            answers, _, _ = read_answers(sock, 1, timeout=10)
            statuses.append(answers[0].status if answers else None)
        assert statuses.count(503) >= 15 and statuses.count(200) + statuses.count(503) == 60, statuses
        for sock in socks:  # the rest are reaped at the keep-alive timeout
            data, closed = read_until_closed(sock, 15)
            assert closed
            sock.close()
        assert server.get("/ok") == b"ok"
        stats = server.wait_stats(lambda s: s["fds"] <= base["fds"])
        assert stats["fds"] <= base["fds"]
        server.assert_clean_log()


def test_slowloris_is_closed_at_the_head_deadline_while_others_are_served():
    """Catalogue 16: 200 sockets trickling a header byte every 0.4 s; the 1 s head deadline closes them."""
    with ServerProcess(REQUEST_TIMEOUT=1, KEEP_ALIVE_TIMEOUT=30) as server:
        socks = [connect(server.port, timeout=10) for _ in range(200)]
        for sock in socks:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        closed_at: dict[int, float] = {}
        start = time.monotonic()
        while len(closed_at) < len(socks) and time.monotonic() - start < 20:
            time.sleep(0.4)
            for i, sock in enumerate(socks):
                if i in closed_at:
                    continue
                try:
                    sock.sendall(b"a")
                except OSError:
                    closed_at[i] = time.monotonic()
                    continue
                sock.setblocking(False)
                try:
                    if sock.recv(65536) == b"":
                        closed_at[i] = time.monotonic()
                except BlockingIOError:
                    pass
                except OSError:
                    closed_at[i] = time.monotonic()
                sock.setblocking(True)
            if len(closed_at) < len(socks):
                assert server.get("/ok") == b"ok"
        assert len(closed_at) == len(socks), "some trickling clients were never closed"
        server.assert_clean_log()
        for sock in socks:
            sock.close()


def test_keep_alive_off_and_max_requests():
    with ServerProcess(KEEP_ALIVE=False) as server, connect(server.port) as sock:
        sock.sendall(b"GET /ok HTTP/1.1\r\nHost: a\r\n\r\n")
        data = wait_closed(sock, 10)
        answers, _ = parse_all(data)
        assert answers[0].status == 200 and answers[0].closes
    with ServerProcess(KEEP_ALIVE_MAX_REQUESTS=3) as server, connect(server.port) as sock:
        sock.sendall(b"GET /ok HTTP/1.1\r\nHost: a\r\n\r\n" * 5)
        data = wait_closed(sock, 10)
        answers, rest = parse_all(data)
        assert [a.closes for a in answers] == [False, False, True] and rest == b""


@pytest.mark.parametrize("keep_alive", [False, True])
def test_http10_stream_ends_by_closing(keep_alive):
    """Catalogue 40: no chunked encoding for HTTP/1.0; a stream's end is the close."""
    extra = b"Connection: keep-alive\r\n" if keep_alive else b""
    with ServerProcess() as server, connect(server.port) as sock:
        sock.sendall(b"GET /ticks?n=3&delay=0.01 HTTP/1.0\r\nHost: a\r\n" + extra + b"\r\n")
        data = wait_closed(sock, 10)
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in head.lower() and body == b"tick0 tick1 tick2 "
