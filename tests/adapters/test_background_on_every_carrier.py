"""Background work (`app.add_task`, `request.add_background`) under necktie-server, uvicorn and granian."""

from __future__ import annotations

import socket

import pytest
from adapter_carriers import HERE, eventually, get_json, leave_forever_mid_stream, request, serving


@pytest.fixture(scope="module")
def background(carrier, tmp_path_factory):
    """`background_app`, served by *carrier*."""
    with serving(carrier, "background_app", HERE, tmp_path_factory.mktemp("bg") / "log") as server:
        yield server


def _log(server) -> list[str]:
    return get_json(server.port, "/log")  # type: ignore[no-any-return]


def test_the_app_task_runs_while_the_app_is_served(background):
    first = get_json(background.port, "/ticks")
    assert "ticker" in first["running"]
    assert eventually(lambda: get_json(background.port, "/ticks")["ticks"] > first["ticks"])


def test_a_failing_app_task_is_logged_and_the_app_goes_on(background):
    assert eventually(lambda: "Background task 'broken' failed" in background.output())
    assert "RuntimeError: the app task broke" in background.output()
    assert "broken" not in get_json(background.port, "/ticks")["running"]


def test_the_response_does_not_wait_for_its_background_work(background):
    response, body = request(background.port, "GET", "/waits")  # reads the whole response
    assert (response.status_code, body) == (200, b"sent")
    assert eventually(lambda: "waits: waiting" in _log(background))
    assert "waits: released" not in _log(background)
    assert request(background.port, "POST", "/release")[0].status_code == 200
    assert eventually(lambda: "waits: released" in _log(background))


def test_background_work_runs_after_the_last_byte_of_a_stream(background):
    response, body = request(background.port, "GET", "/streamed")
    assert body == b"".join(b"%d," % i for i in range(100))
    log = eventually(lambda: [e for e in _log(background) if e.startswith("streamed: ")] if
                      "streamed: background" in _log(background) else None)
    assert log == ["streamed: last write", "streamed: background"]


def test_no_background_work_when_the_client_went_away_mid_response(background):
    leave_forever_mid_stream(background.port)
    assert eventually(lambda: "forever: CancelledError" in _log(background))
    # Had it been scheduled, it would have run with the next request's worker-thread call at the latest.
    request(background.port, "GET", "/streamed")
    assert eventually(lambda: "streamed: background" in _log(background))
    assert "forever: background ran" not in _log(background)


def test_no_background_work_when_the_stream_broke(background):
    with socket.create_connection(("127.0.0.1", background.port), timeout=10) as sock:
        sock.sendall(b"GET /broken-stream HTTP/1.1\r\nHost: x\r\n\r\n")
        while sock.recv(65536):  # the server cuts the connection
            pass
    request(background.port, "GET", "/streamed")
    assert eventually(lambda: "streamed: background" in _log(background))
    assert "broken-stream: background ran" not in _log(background)


def test_failing_background_work_is_logged_and_the_next_call_runs(background):
    assert request(background.port, "GET", "/fails")[0].status_code == 200
    assert eventually(lambda: "fails: the next call ran" in _log(background))
    failed = "Background work 'failing_work after GET /fails' failed"
    assert eventually(lambda: failed in background.output())
    assert "ValueError: the background work broke" in background.output()


def test_shutdown_waits_for_background_work_then_cancels_the_app_task(carrier, tmp_path):
    events = tmp_path / "events"
    env = {"NECKTIE_TEST_EVENTS": str(events)}
    with serving(carrier, "background_app", HERE, tmp_path / "log", env) as server:
        assert request(server.port, "GET", "/slow")[0].status_code == 200
        assert eventually(lambda: events.exists() and "slow: started" in events.read_text())
    assert events.read_text().split("\n")[:-1] == [
        "slow: started", "before_server_stop", "slow: finished", "ticker: cancelled", "after_server_stop"]
