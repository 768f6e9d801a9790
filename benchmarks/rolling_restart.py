"""Rolling restarts under load, for longer than the test suite's run of the same scenario.

``necktie rolling_app:app --workers 2`` (the app of packages/necktie-server/tests/cli/rolling_app.py) is
driven by the suite's load (`rolling_load`: keep-alive GETs, streamed chunked uploads, streamed
downloads, server-sent event streams, each checked whole) while the supervisor gets ``SIGHUP`` after
``SIGHUP``: each rolling restart replaces both workers, the next starts once the last is done. At the end
it prints the exchanges served, the restarts and the failures (which must be 0), and with ``--record``
writes them into benchmarks/RESULTS.md under "Rolling restart". Not part of the suite.

    .venv/bin/python benchmarks/rolling_restart.py --minutes 3 --record
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_DIR = ROOT / "packages" / "necktie-server" / "tests" / "cli"
sys.path.insert(0, str(APP_DIR))

from cli_support import Running  # noqa: E402
from rolling_load import Load  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## Rolling restart"
ENV = {
    "NECKTIE_READINESS_PATH": "/readyz",
    "NECKTIE_DRAIN_DELAY": "1",
    "NECKTIE_GRACEFUL_SHUTDOWN_TIMEOUT": "30",
}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(minutes: float, clients: int, workers: int) -> dict[str, object]:
    port = free_port()
    command = [sys.executable, "-m", "necktie_server", "rolling_app:app", "--port", str(port),
               "--workers", str(workers), "--no-access-log"]
    supervisor = Running(command, APP_DIR, ENV).wait_started()
    load = Load("127.0.0.1", port, clients=clients).start()
    restarts = 0
    started = time.monotonic()
    try:
        while time.monotonic() - started < minutes * 60:
            mark = len(supervisor.lines)
            supervisor.process.send_signal(signal.SIGHUP)
            supervisor.wait_for(r"Rolling restart done", start=mark, timeout=300)
            restarts += 1
            time.sleep(1.0)
    finally:
        tally = load.stop()
        elapsed = time.monotonic() - started
        status = supervisor.stop(signal.SIGTERM)
        supervisor.kill()
    return {
        "minutes": elapsed / 60,
        "workers": workers,
        "clients": clients * 4,
        "restarts": restarts,
        "replaced": restarts * workers,
        "served": tally.served,
        "by_kind": dict(tally.ok),
        "processes": len(tally.pids),
        "failures": list(tally.failures),
        "exit": status,
    }


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def report(result: dict[str, object]) -> str:
    kinds = result["by_kind"]
    assert isinstance(kinds, dict)
    failures = result["failures"]
    assert isinstance(failures, list)
    shown = "".join(f"\n  - `{failure}`" for failure in failures[:10])
    return (
        f"{SECTION}\n\n"
        f"`benchmarks/rolling_restart.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit "
        f"{commit()}: `necktie --workers {result['workers']}` with `DRAIN_DELAY=1`, {result['clients']} "
        f"clients (keep-alive GETs, streamed chunked uploads, streamed downloads, server-sent event streams, "
        f"each checked whole) for {result['minutes']:.1f} minutes, `SIGHUP` again as soon as each rolling "
        f"restart was done.\n\n"
        f"- rolling restarts: {result['restarts']} ({result['replaced']} workers replaced, "
        f"{result['processes']} worker processes answered)\n"
        f"- exchanges served: {result['served']:,} (GET {kinds.get('hello', 0):,}, uploads "
        f"{kinds.get('upload', 0):,}, downloads {kinds.get('download', 0):,}, event streams "
        f"{kinds.get('events', 0):,})\n"
        f"- failures: {len(failures)}{shown}\n"
        f"- the supervisor's exit status after SIGTERM: {result['exit']}\n"
    )


def record(section: str) -> None:
    text = RESULTS.read_text()
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", flags=re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="how long to keep restarting (default 3)")
    parser.add_argument("--clients", type=int, default=2, help="clients of each kind (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--record", action="store_true", help="write the result into benchmarks/RESULTS.md")
    args = parser.parse_args()
    result = run(args.minutes, args.clients, args.workers)
    section = report(result)
    print(section)
    if args.record:
        record(section)
    return 0 if not result["failures"] and result["exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
