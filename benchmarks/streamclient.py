"""Running a load-generator script of the streaming benchmarks (ws_client.py, sse_client.py) from a driver.

The client runs pinned to the load generator's CPU and prints JSON lines: ``{"measuring": true}`` when
its measured window starts, ``{"measured": true}`` when it ends, and its result last. `run_measured`
reads the server's CPU time (/proc) at those two marks, so the CPU per unit of work counts the window
only, not the connecting or the draining around it.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time

from run import BENCH_DIR, CLIENT_CPU, CLK_TCK, VENV_PY, Server, cpu_ticks, pinned


def run_measured(server: Server, script: str, args: list[str], timeout: float) -> dict:
    """Run ``script args`` as the client; its result plus ``server_cpu_s`` and ``server_busy_pct`` (the
    server's CPU seconds in the measured window, and that as a share of the window's wall-clock time)."""
    cmd = pinned(CLIENT_CPU, [str(VENV_PY), str(BENCH_DIR / script), *args])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    marks: dict[str, tuple[int, float]] = {}
    result: dict | None = None
    try:
        while True:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"{script} not finished after {timeout:.0f} s") from None
            if line is None:
                break
            if not line.startswith("{"):
                continue
            msg = json.loads(line)
            if msg.get("measuring") or msg.get("measured"):
                mark = "start" if msg.get("measuring") else "end"
                marks[mark] = (cpu_ticks(server.pids()), time.perf_counter())
            else:
                result = msg
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    if result is None:
        err = proc.stderr.read()[-400:] if proc.stderr else ""
        raise RuntimeError(f"{script} gave no result (exit {proc.returncode}): {err}")
    if "error" in result:
        raise RuntimeError(result["error"])
    if "start" in marks and "end" in marks:
        (t0, w0), (t1, w1) = marks["start"], marks["end"]
        result["server_cpu_s"] = (t1 - t0) / CLK_TCK
        result["server_busy_pct"] = 100.0 * result["server_cpu_s"] / (w1 - w0)
    return result
