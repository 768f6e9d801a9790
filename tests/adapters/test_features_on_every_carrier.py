"""Middleware, errors, listeners and disconnects behave the same under necktie-server, uvicorn and granian."""

from __future__ import annotations

import json
import select
import socket

from adapter_carriers import (
    HERE,
    eventually,
    get_json,
    header,
    launch,
    leave_forever_mid_stream,
    read_response,
    request,
    reset,
    serving,
)


def test_startup_listeners_ran_before_the_first_request(features):
    assert get_json(features.port, "/events")[:2] == ["before_server_start", "after_server_start"]


def test_request_and_response_middleware(features):
    response, body = request(features.port, "GET", "/private", headers={"X-User": "ann"})
    assert (response.status_code, body) == (200, b"hello ann")
    assert header(response, b"x-served-for") == b"ann"
    response, body = request(features.port, "GET", "/private")
    assert (response.status_code, body) == (401, b"who are you?")
    assert header(response, b"x-served-for") == b"anonymous"


def test_buffered_json_body_reaches_the_handler(features):
    response, body = request(features.port, "POST", "/json", b'{"n": [1, 2, 3]}',
                             {"Content-Type": "application/json", "X-User": "bob"})
    assert response.status_code == 200
    assert json.loads(body) == {"got": {"n": [1, 2, 3]}, "user": "bob"}


def test_errors(features):
    response, body = request(features.port, "GET", "/boom")
    assert response.status_code == 500
    assert b"internal detail" not in body
    assert header(response, b"x-served-for") == b"anonymous"  # response middleware saw the error page
    response, body = request(features.port, "GET", "/teapot")
    assert response.status_code == 418 and b"short and stout" in body
    response, body = request(features.port, "GET", "/conflict")
    assert response.status_code == 409 and json.loads(body) == {"conflict": "already there"}
    response, _ = request(features.port, "GET", "/missing")
    assert response.status_code == 404
    response, _ = request(features.port, "POST", "/events")
    assert response.status_code == 405


def test_unawaited_writes_arrive_complete_and_in_order(features):
    response, body = request(features.port, "GET", "/count/3000")
    assert response.status_code == 200
    assert body == "".join(f"{i}," for i in range(3000)).encode()


def test_awaited_writes_stream_a_large_body(features):
    response, body = request(features.port, "GET", "/bulk/16")
    assert response.status_code == 200
    assert len(body) == 16 * 1024 * 1024
    assert [body[i:i + 8] for i in range(0, len(body), 65536)] == [b"%08d" % i for i in range(256)]


def test_disconnect_mid_stream_cancels_the_handler(features):
    leave_forever_mid_stream(features.port)
    assert eventually(lambda: "forever: CancelledError" in get_json(features.port, "/log"))


def test_disconnect_stops_a_stream_whose_handler_never_reads_the_body(features):
    sock = socket.create_connection(("127.0.0.1", features.port), timeout=10)
    sock.sendall(b"POST /forever-unread HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nsome")
    received = b""
    while received.count(b"tock") < 3:
        data = sock.recv(65536)
        assert data
        received += data
    reset(sock)
    assert eventually(lambda: "forever-unread: CancelledError" in get_json(features.port, "/log"))


def test_disconnect_mid_upload_reaches_the_reading_handler(features):
    sock = socket.create_connection(("127.0.0.1", features.port), timeout=10)
    sock.sendall(b"POST /upload-probe HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
    sock.sendall(b"u" * 100000)
    assert eventually(lambda: "upload: started" in get_json(features.port, "/log"))
    reset(sock)
    ended = eventually(lambda: [e for e in get_json(features.port, "/log") if e.startswith("upload: ") and
                                 e != "upload: started"])
    assert ended and ended[0] in ("upload: ConnectionClosed", "upload: CancelledError")


def test_disconnect_while_the_handler_waits_cancels_it(features):
    sock = socket.create_connection(("127.0.0.1", features.port), timeout=10)
    sock.sendall(b"GET /sleep HTTP/1.1\r\nHost: x\r\n\r\n")
    assert eventually(lambda: "sleep: started" in get_json(features.port, "/log"))
    reset(sock)
    assert eventually(lambda: "sleep: CancelledError" in get_json(features.port, "/log"))


def test_a_stream_that_fails_mid_way_is_cut_not_completed(features):
    with socket.create_connection(("127.0.0.1", features.port), timeout=10) as sock:
        sock.sendall(b"GET /broken-stream HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while data := sock.recv(65536):  # the server closes the connection
            received += data
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"partial," in body
    assert not body.endswith(b"0\r\n\r\n"), "the client must not mistake a broken stream for a complete one"


def test_stop_listeners_run_on_graceful_shutdown(carrier, tmp_path):
    events = tmp_path / "events"
    env = {"NECKTIE_TEST_EVENTS": str(events)}
    with serving(carrier, "features_app", HERE, tmp_path / "log", env) as server:
        assert request(server.port, "GET", "/events")[0].status_code == 200
    assert events.read_text().split() == [
        "before_server_start", "after_server_start", "before_server_stop", "after_server_stop"]


def test_failing_startup_listener_stops_the_server_with_its_message(carrier, tmp_path):
    server = launch(carrier, "features_app", HERE, tmp_path / "log", {"NECKTIE_TEST_FAIL_START": "1"},
                    expect_ready=False)
    try:
        server.process.wait(60)
    finally:
        server.stop()
    assert server.process.returncode != 0
    assert "database unreachable at startup" in server.output()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", server.port)) != 0


def test_a_handler_that_does_not_read_holds_the_client_back(features):
    """Nothing reads the body ahead of the handler, so each carrier's own flow control stops the client."""
    total = 32 * 1024 * 1024  # several times what the kernel and the server buffer on the way
    piece = b"z" * 65536
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 256 * 1024)  # keep the client's own buffer small
    sock.settimeout(10)
    sock.connect(("127.0.0.1", features.port))
    try:
        sock.sendall(f"POST /slow-reader HTTP/1.1\r\nHost: x\r\nContent-Length: {total}\r\n\r\n".encode())
        sock.setblocking(False)
        sent = 0
        while sent < total:
            _, writable, _ = select.select([], [sock], [], 2.0)
            if not writable:
                break  # stalled for 2 s: the server stopped reading
            try:
                sent += sock.send(piece[: total - sent])
            except BlockingIOError:
                continue
        assert sent < total, "the whole body was taken although the handler read none of it"
        assert request(features.port, "POST", "/release")[0].status_code == 200
        sock.settimeout(60)
        while sent < total:
            sent += sock.send(piece[: total - sent])
        response, body = read_response(sock, "POST")
    finally:
        sock.close()
    assert response.status_code == 200
    assert int(body) == total
