"""METRICS_PATH with ``--workers 2``: whichever worker answers the scrape, the counts are all workers' added
up (the application's own prometheus_client metrics too, in multiprocess mode), and the shared directory
is emptied when the server starts."""

from __future__ import annotations

import json
import threading

from adapter_carriers import eventually, request
from necktie_server.metrics_workers import WorkerFiles
from obs_servers import necktie, scrape
from pynecktie.metrics import HttpStats

HELLO = {"method": "GET", "route": "/pid", "status": "200"}


def test_two_workers_counts_are_added_up(tmp_path):
    shared = tmp_path / "multiproc"
    shared.mkdir()
    stale = {"rows": [["GET", "/pid", 200, 1000, 1.0, 0, 0] + [1000] + [0] * 11], "aborted": {},
             "in_flight": 5, "websockets": 0, "connections": 7}
    (shared / "necktie-999999.json").write_text(json.dumps(stale))  # an earlier run's: must be emptied
    env = {"PROMETHEUS_MULTIPROC_DIR": str(shared)}
    with necktie("counted_app", tmp_path / "log", env, "--workers", "2", "--no-access-log") as running:
        pids: dict[str, int] = {}
        seen = []  # totals scraped meanwhile, from either worker: a counter never goes back
        for n in range(400):  # the kernel spreads new connections: go on until both workers answered
            _, body = request(running.port, "GET", "/pid")
            pids[body.decode()] = pids.get(body.decode(), 0) + 1
            if n % 3 == 0:
                seen.append(scrape(running.port).get(("necktie_requests_total", frozenset(HELLO.items())), 0))
            if len(pids) == 2 and sum(pids.values()) >= 30:
                break
        assert seen == sorted(seen), seen
        assert len(pids) == 2, f"one worker answered all {sum(pids.values())} requests: {pids}"
        sent = sum(pids.values())
        key = ("necktie_requests_total", frozenset(HELLO.items()))
        mine = ("app_hits_total", frozenset())

        def counted() -> bool:
            samples = scrape(running.port)
            return samples.get(key) == sent and samples.get(mine) == sent

        # Within a second or so every worker has written its counts; from then on every scrape, whichever
        # worker answers it, has them all.
        assert eventually(lambda: all(counted() for _ in range(10))), scrape(running.port)
        totals = []
        for _ in range(10):
            samples = scrape(running.port)
            totals.append(samples[key])
            assert samples[("necktie_request_duration_seconds_count", frozenset(HELLO.items()))] == sent
            assert samples[("necktie_requests_in_flight", frozenset())] >= 1  # the scrape itself
            assert samples[("necktie_connections_open", frozenset())] >= 1
        assert totals == [sent] * 10
    assert not (shared / "necktie-999999.json").exists()


def _snapshot(requests: int) -> dict:
    return {"rows": [["GET", "/pid", 200, requests] + [0] * 14], "aborted": {}, "in_flight": 0,
            "websockets": 0, "connections": 1}


def test_a_worker_file_is_never_replaced_by_older_counts(tmp_path):
    files = WorkerFiles(tmp_path, HttpStats())
    files.write(_snapshot(5))
    files.write(_snapshot(3))  # taken earlier, written later (the other thread)
    assert json.loads(files.path.read_text())["rows"][0][3] == 5
    files.write(_snapshot(6))
    assert json.loads(files.path.read_text())["rows"][0][3] == 6


def test_writes_from_two_threads_at_once_all_succeed(tmp_path):
    # The flush task and a scrape both write this worker's file; they once shared a staging file unguarded,
    # so one os.replace found it gone and the scrape answered 500.
    files = WorkerFiles(tmp_path, HttpStats())
    failures: list[BaseException] = []

    def writer(start: int) -> None:
        try:
            for n in range(start, start + 400):
                files.write(_snapshot(n))
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert json.loads(files.path.read_text())["rows"][0][3] == 400
