"""The fuzz targets in the normal suite: a bounded, reproducible run of each, and the saved findings replayed.

Each target runs in a subprocess (atheris instruments imports and exits the process on a finding, neither
of which belongs in the pytest process), with a fixed seed and a fixed number of inputs, capped in time so
all together stay within three minutes on a slow machine. The run starts from the checked-in seeds and
the saved findings (``crashes/<target>``), so every one of those is replayed first, with all of the
driver's checks (memory included). ``test_finding_over_loopback`` sends the same findings to a real server
over 127.0.0.1 and applies the output rules to what a socket receives.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import fuzz_driver  # noqa: E402
from fuzz_apps import WS_ROUTES, h2_app, http_app, ws_app  # noqa: E402
from fuzz_checks import h2_violations, http_violations, ws_client, ws_handshake, ws_violations  # noqa: E402
from necktie_testing import LiveServer  # noqa: E402
from nt_h2frames import PREFACE  # noqa: E402
from nt_rawhttp import connect, read_until_closed  # noqa: E402

RUNS = {"http1": 4000, "ws": 2500, "h2": 2500}  # inputs per CI run: usually 20-40 s each on a busy machine
MAX_SECONDS = 50  # ...and a hard stop, so a slow machine runs fewer inputs rather than overrunning


def findings(target: str) -> list[Path]:
    """The saved inputs that once broke a rule (one file each, in the targets' input format)."""
    return sorted(p for p in (HERE / "crashes" / target).iterdir() if not p.name.startswith("."))


@pytest.mark.timeout(MAX_SECONDS + 60)
@pytest.mark.parametrize("target", ["http1", "ws", "h2"])
def test_bounded_fuzz_run(target, tmp_path):
    extra = [f"-dict={HERE / 'http1.dict'}"] if target == "http1" else []
    command = [
        sys.executable, str(HERE / f"fuzz_{target}.py"), "-seed=1", f"-runs={RUNS[target]}",
        f"-max_total_time={MAX_SECONDS}", "-timeout=30", "-rss_limit_mb=2048", "-print_final_stats=1",
        f"-artifact_prefix={tmp_path}/", *extra,
        str(tmp_path / "new"), str(HERE / "corpus" / target), str(HERE / "crashes" / target),
    ]
    (tmp_path / "new").mkdir()
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same inputs, and the same allocations, every run
    result = subprocess.run(command, capture_output=True, text=True, errors="replace", cwd=tmp_path, env=env,
                            timeout=MAX_SECONDS + 50)
    lines = [line for line in result.stderr.splitlines() if not line.startswith("INFO: Instrumenting")]
    assert result.returncode == 0, "the fuzz target found a violation:\n" + "\n".join(lines[-40:])
    assert any(line.startswith("stat::number_of_executed_units") for line in lines), "\n".join(lines[-20:])


def _send_plan(sock: socket.socket, plan: fuzz_driver.Plan) -> None:
    """The plan's reads over a socket (timing approximated: the loopback replay checks outputs only)."""
    pieces = plan.pieces()
    for i, piece in enumerate(pieces):
        try:
            sock.sendall(piece)
            if plan.amplify and i == plan.repeat % len(pieces):
                read = piece * max(1, fuzz_driver.AMPLIFY_READ // len(piece))
                for _ in range(max(1, plan.amplify // len(read))):
                    sock.sendall(read)
        except OSError:
            return  # the server closed while the client was still sending: what it wrote is still checked
        if plan.tick:
            time.sleep(0.5)
    if plan.eof:
        sock.shutdown(socket.SHUT_WR)


@pytest.fixture(scope="module")
def http_server():
    with LiveServer(http_app()) as server:
        yield server


@pytest.fixture(scope="module")
def ws_server():
    with LiveServer(ws_app()) as server:
        yield server


@pytest.mark.parametrize("path", findings("http1"), ids=lambda p: p.name)
def test_http1_finding_over_loopback(http_server, path):
    plan = fuzz_driver.Plan.decode(path.read_bytes())
    with connect(http_server.port) as sock:
        _send_plan(sock, plan)
        output, closed = read_until_closed(sock, timeout=30)
    assert closed, "the server did not close the connection within 30 s (its timeouts are 1 s)"
    violations = http_violations(_as_sent(plan), output, True, http_server.app.config.REQUEST_MAX_LINE_SIZE)
    assert violations == [], f"{path.name}: {violations} for {plan.payload[:200]!r}"


def _as_sent(plan: fuzz_driver.Plan) -> bytes:
    """Every byte `_send_plan` sends (the server may have closed before taking them all)."""
    pieces = plan.pieces()
    if not plan.amplify:
        return plan.payload
    i = plan.repeat % len(pieces)
    read = pieces[i] * max(1, fuzz_driver.AMPLIFY_READ // len(pieces[i]))
    return b"".join(pieces[: i + 1]) + read * max(1, plan.amplify // len(read)) + b"".join(pieces[i + 1 :])


@pytest.mark.parametrize("path", findings("ws"), ids=lambda p: p.name)
def test_ws_finding_over_loopback(ws_server, path):
    plan = fuzz_driver.Plan.decode(path.read_bytes())
    client = ws_client(WS_ROUTES[plan.choice % 4], deflate=bool(plan.choice & 4))
    with connect(ws_server.port) as sock:
        sock.sendall(ws_handshake(client))
        _send_plan(sock, plan)
        output, closed = read_until_closed(sock, timeout=30)
    assert closed, "the server did not close the connection within 30 s (its timeouts are 1 s)"
    # This client reads only once it has sent everything: the server may reset it for not reading.
    violations = ws_violations(client, output, True, abrupt_ok=True)
    assert violations == [], f"{path.name}: {violations}"


@pytest.fixture(scope="module")
def h2_server():
    with LiveServer(h2_app()) as server:
        yield server


@pytest.mark.parametrize("path", findings("h2"), ids=lambda p: p.name)
def test_h2_finding_over_loopback(h2_server, path):
    plan = fuzz_driver.Plan.decode(path.read_bytes())
    with connect(h2_server.port) as sock:
        sock.sendall(PREFACE)
        _send_plan(sock, plan)
        output, closed = read_until_closed(sock, timeout=30)
    assert closed, "the server did not close the connection within 30 s (its timeouts are 1 s)"
    violations = h2_violations(PREFACE + _as_sent(plan), output, True)
    assert violations == [], f"{path.name}: {violations}"
