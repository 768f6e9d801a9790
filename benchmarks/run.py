#!/usr/bin/env python3
"""Necktie benchmark suite: one command runs it all.

    python benchmarks/run.py            # full run, ~10 minutes, writes benchmarks/RESULTS.md
    python benchmarks/run.py --quick    # < 1 minute smoke run, writes benchmarks/.results/RESULTS-quick.md

Creates benchmarks/.venv, installs the pinned peers (requirements.txt) and
Necktie from this repository (editable), makes sure `wrk` is there, then runs
every peer round by round: server pinned to CPU 0, load generator to CPU 1,
127.0.0.1 only. See benchmarks/README.md for what is measured and how.

Needs only the standard library to start (it runs the servers and the client
with the virtualenv's interpreter).
"""

from __future__ import annotations

import argparse
import atexit
import datetime as _dt
import hashlib
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
APPS = BENCH_DIR / "apps"
VENV = BENCH_DIR / ".venv"
VENV_PY = VENV / "bin" / "python"
VENV_BASE_PY = sys.executable  # what the virtualenv is made with (--python)
SCRATCH = BENCH_DIR / ".results"
REQUIREMENTS = BENCH_DIR / "requirements.txt"
NECKTIE_PACKAGES = [REPO / "packages" / "necktie-core", REPO / "packages" / "necktie-server"]
CLIENT = BENCH_DIR / "loadclient.py"
HOST = "127.0.0.1"  # the only address anything here talks to
MIB = 1 << 20

SERVER_CPU = "0"
CLIENT_CPU = "1"
CONNECTIONS = 64

# Environment variables that tune allocators, the interpreter or preload
# libraries: never passed to any server, so every peer runs on defaults.
TUNING_ENV_PREFIXES = ("MALLOC_", "GLIBC_TUNABLES", "LD_PRELOAD", "PYTHONMALLOC", "PYTHONDEVMODE",
                       "PYTHONASYNCIODEBUG", "PYTHONOPTIMIZE", "PYTHONPATH", "PYTHONHOME",
                       "PYTHONDONTWRITEBYTECODE", "UV_")


@dataclass(frozen=True)
class Peer:
    key: str
    label: str
    app: str
    floor: bool = False  # answers every request with one fixed response


PEERS = [
    Peer("necktie", "Necktie", "necktie_app.py"),
    Peer("sanic", "Sanic", "sanic_app.py"),
    Peer("uvicorn", "uvicorn+Starlette", "uvicorn_app.py"),
    Peer("granian", "granian+Starlette", "granian_app.py"),
    Peer("aiohttp", "aiohttp", "aiohttp_app.py"),
    Peer("floor", "floor (uvloop+httptools)", "floor_app.py", floor=True),
]
PEER_BY_KEY = {p.key: p for p in PEERS}


@dataclass
class Settings:
    quick: bool
    rounds: int
    duration: int  # seconds per wrk measurement
    warmup: int  # seconds of wrk warm-up per endpoint (0 = none)
    transfer_mib: int  # size of each download / upload measurement
    transfer_reps: int  # transfers of each kind per server start
    idle_conns: int
    route_counts: tuple[int, ...]
    idle_conns_large: int = 0  # a second idle-connection measurement, on a fresh server of its own (0: none)
    ready_timeout: float = 90.0
    # A transfer slower than this is cut off (and that kind skipped for the peer from then on);
    # the report shows it as "< bound". Keeps the whole run bounded whatever a server does.
    min_transfer_mib_s: float = 100.0

    def transfer_timeout(self) -> float:
        return 3.0 + self.transfer_mib / self.min_transfer_mib_s


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------- setup


def run_cmd(cmd: list[str], timeout: float, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, timeout=timeout, text=True, capture_output=True, **kw)


def venv_stamp() -> str:
    h = hashlib.sha256(REQUIREMENTS.read_bytes())
    for pkg in NECKTIE_PACKAGES:
        for name in ("pyproject.toml", "setup.py", "setup.cfg"):
            f = pkg / name
            if f.exists():
                h.update(f.read_bytes())
    return h.hexdigest()


def necktie_importable() -> tuple[bool, str]:
    try:
        r = run_cmd([str(VENV_PY), "-c", "import pynecktie, necktie_server"], timeout=60, cwd=APPS)
    except subprocess.TimeoutExpired:
        return False, "import timed out"
    return r.returncode == 0, (r.stderr or r.stdout).strip()


def setup_venv(skip_install: bool) -> tuple[bool, str]:
    """Create/refresh the benchmark virtualenv. Returns (necktie_ok, message)."""
    if not VENV_PY.exists():
        if skip_install:
            sys.exit(f"{VENV} does not exist; run without --no-install first")
        log(f"creating virtualenv {VENV}")
        subprocess.run([VENV_BASE_PY, "-m", "venv", str(VENV)], check=True, timeout=300)
    stamp_file = VENV / ".bench-stamp"
    stamp = venv_stamp()
    if not skip_install and (not stamp_file.exists() or stamp_file.read_text() != stamp):
        log("installing pinned peers into the benchmark virtualenv")
        pip = [str(VENV_PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        r = run_cmd(pip + ["-r", str(REQUIREMENTS)], timeout=900)
        if r.returncode != 0:
            sys.exit(f"pip install of the peers failed:\n{r.stdout}\n{r.stderr}")
        cmd = pip.copy()
        for pkg in NECKTIE_PACKAGES:
            cmd += ["-e", str(pkg)]
        log("installing Necktie (editable) from packages/")
        r = run_cmd(cmd, timeout=900)
        if r.returncode != 0:
            SCRATCH.mkdir(exist_ok=True)
            install_log = SCRATCH / "necktie-install.log"
            install_log.write_text(f"$ {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
            lines = [ln.strip() for ln in (r.stderr + r.stdout).splitlines() if ln.strip()]
            errors = [ln for ln in lines if re.search(r"error|not found|no such|does not", ln, re.I)
                      and "This is an issue with the package" not in ln]
            return False, (f"`pip install -e` of Necktie failed (full output in {install_log}): "
                           + " | ".join((errors or lines)[-4:]))
        stamp_file.write_text(stamp)
    ok, err = necktie_importable()
    if not ok:
        stamp_file.unlink(missing_ok=True)  # retry the install next time
        return False, "Necktie is not importable: " + (err.splitlines()[-1] if err else "?")
    return True, ""


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("wrk not found: installing it with apt-get")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
            try:
                r = run_cmd(cmd, timeout=600, env=env)
            except subprocess.TimeoutExpired:
                sys.exit(f"`{' '.join(cmd)}` timed out")
            if r.returncode != 0:
                sys.exit(f"`{' '.join(cmd)}` failed:\n{r.stderr}")
        wrk = shutil.which("wrk")
        if wrk:
            return wrk
    sys.exit("wrk is required: install it (Debian/Ubuntu: `sudo apt-get install wrk`) and run again")


def cpu_pinning() -> bool:
    if not shutil.which("taskset"):
        log("WARNING: taskset not found (util-linux): servers and load generator are not pinned")
        return False
    if (os.cpu_count() or 1) < 2:
        log("WARNING: fewer than 2 CPUs: server and load generator share one core")
        return False
    return True


PINNING = True


def pinned(cpu: str, cmd: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *cmd] if PINNING else cmd


# --------------------------------------------------------------------------- /proc helpers


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        # fields: state ppid pgrp ...; skip zombies
        if int(fields[2]) == pgid and fields[0] != b"Z":
            pids.append(int(entry))
    return sorted(pids)


def status_kib(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kib(pids: list[int]) -> int:
    return sum(status_kib(p, "VmRSS") for p in pids)


def hwm_kib(pids: list[int]) -> int:
    return sum(status_kib(p, "VmHWM") for p in pids)


def reset_hwm(pids: list[int]) -> bool:
    ok = True
    for p in pids:
        try:
            with open(f"/proc/{p}/clear_refs", "w") as f:
                f.write("5")  # 5 = reset the peak RSS (VmHWM) to the current RSS
        except OSError:
            ok = False
    return ok


def socket_fds(pids: list[int]) -> int:
    n = 0
    for p in pids:
        try:
            for fd in os.listdir(f"/proc/{p}/fd"):
                try:
                    if os.readlink(f"/proc/{p}/fd/{fd}").startswith("socket:"):
                        n += 1
                except OSError:
                    pass
        except OSError:
            pass
    return n


class RssSampler:
    """Samples the summed RSS of a process group every few ms in a thread."""

    def __init__(self, pids: list[int], interval: float = 0.005):
        self.pids, self.interval = pids, interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pids))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.peak = max(self.peak, rss_kib(self.pids))


# --------------------------------------------------------------------------- servers


LIVE_SERVERS: list[Server] = []


def free_port() -> int:
    """A port that is free now, taken below the kernel's ephemeral range so that no outgoing
    connection (ours or anyone else's) can grab it before the server binds it."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    top = max(low, 12000)
    for _ in range(200):
        port = random.randrange(10000, top)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on HOST:port (from /proc/net/tcp)."""
    want = f"{socket.htonl(0x7F000001):08X}:{port:04X}"  # 127.0.0.1 in /proc's byte order
    inodes = set()
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[1] == want and fields[3] == "0A":  # 0A = LISTEN
                    inodes.add(fields[9])
    except (OSError, StopIteration, IndexError):
        pass
    return inodes


def owns_port(pids: list[int], port: int) -> bool:
    """Whether one of *pids* holds the listening socket on *port* (not some other program)."""
    inodes = listening_inodes(port)
    for p in pids:
        try:
            for fd in os.listdir(f"/proc/{p}/fd"):
                try:
                    link = os.readlink(f"/proc/{p}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return True
        except OSError:
            pass
    return False


def server_env(port: int, routes: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(TUNING_ENV_PREFIXES)}
    env.update(BENCH_HOST=HOST, BENCH_PORT=str(port), BENCH_ROUTES=str(routes))
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV)
    return env


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """Tiny one-shot GET (Connection: close) used for readiness and validation."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if m and len(body) >= int(m.group(1)):
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2:
        raise OSError(f"no HTTP response from {path}")
    if re.search(rb"(?im)^transfer-encoding:\s*chunked", head):
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2 :]
        body = out
    return int(status_line[1]), body


class ServerError(Exception):
    pass


class ServerDied(Exception):
    """The server exited in the middle of its measurements (its numbers are discarded)."""


class Server:
    def __init__(self, peer: Peer, routes: int, tag: str):
        self.peer, self.routes = peer, routes
        self.port = free_port()
        SCRATCH.joinpath("logs").mkdir(parents=True, exist_ok=True)
        self.log_path = SCRATCH / "logs" / f"{tag}-{peer.key}-r{routes}.log"
        self.proc: subprocess.Popen | None = None
        self.startup_s = float("nan")

    def start(self, timeout: float) -> None:
        for attempt in range(3):
            try:
                return self._start(timeout)
            except ServerError as exc:
                if attempt == 2 or "address already in use" not in str(exc).lower():
                    raise
                log(f"{self.peer.label}: port {self.port} was taken meanwhile; retrying on another")
                self.stop()
                self.port = free_port()

    def _start(self, timeout: float) -> None:
        cmd = pinned(SERVER_CPU, [str(VENV_PY), str(APPS / self.peer.app), HOST, str(self.port)])
        self._log = open(self.log_path, "wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, cwd=APPS, env=server_env(self.port, self.routes), stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        LIVE_SERVERS.append(self)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise ServerError(f"exited with code {self.proc.returncode} before accepting:\n"
                                  + self.log_tail())
            try:
                status, _ = http_get(self.port, "/hello", timeout=2.0)
                if status == 200:
                    if not owns_port(self.pids(), self.port):
                        raise ServerError(f"another program answers on port {self.port}: "
                                          "address already in use")
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ServerError(f"not answering GET /hello after {timeout:.0f} s:\n" + self.log_tail())
            time.sleep(0.05)
        self.startup_s = time.perf_counter() - t0

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def healthy(self) -> bool:
        """Still running and still answering GET /hello (not, say, in the middle of shutting down)."""
        if not self.alive():
            return False
        try:
            return http_get(self.port, "/hello", timeout=5.0)[0] == 200
        except OSError:
            return False

    def pids(self) -> list[int]:
        return group_pids(self.proc.pid) if self.proc else []

    def log_tail(self, lines: int = 25) -> str:
        try:
            self._log.flush()
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                self.proc.poll()
                if not group_pids(pgid):
                    break
                time.sleep(0.05)
            else:
                continue
            break
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()
        if self in LIVE_SERVERS:
            LIVE_SERVERS.remove(self)
        self.proc = None


def stop_all_servers() -> None:
    for server in list(LIVE_SERVERS):
        try:
            server.stop()
        except Exception as exc:  # pragma: no cover - best effort at exit
            print(f"could not stop {server.peer.key}: {exc}", file=sys.stderr)


# --------------------------------------------------------------------------- measurements

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def parse_ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value.strip())
    if not m:
        raise ValueError(f"unparseable wrk time {value!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def run_wrk(wrk: str, port: int, path: str, duration: int, pids: list[int] | None = None,
            connections: int = CONNECTIONS, headers: tuple[str, ...] = ()) -> dict:
    """One wrk run; with *pids*, also the server's CPU time per request and how busy its core was.
    *headers* ("Name: value") are sent with every request."""
    url = f"http://{HOST}:{port}{path}"
    extra = [arg for h in headers for arg in ("-H", h)]
    cmd = pinned(CLIENT_CPU, [wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--latency",
                              "--timeout", "5s", *extra, url])
    ticks0, t0 = (cpu_ticks(pids) if pids else 0), time.perf_counter()
    r = run_cmd(cmd, timeout=duration + 30)
    ticks1, t1 = (cpu_ticks(pids) if pids else 0), time.perf_counter()
    out = r.stdout
    m = re.search(r"Requests/sec:\s*([\d.]+)", out)
    if r.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed ({r.returncode}): {out[-400:]} {r.stderr[-400:]}")
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M)
    result = {"rps": float(m.group(1)), "p99_ms": parse_ms(p99.group(1)) if p99 else float("nan")}
    total = re.search(r"(\d+) requests in", out)
    if pids and total and int(total.group(1)):
        cpu_s = (ticks1 - ticks0) / CLK_TCK
        result["cpu_us_per_req"] = cpu_s * 1e6 / int(total.group(1))
        result["busy_pct"] = 100.0 * cpu_s / (t1 - t0)
    errors = []
    sock = re.search(r"Socket errors:(.*)", out)
    if sock:
        errors.append("socket errors:" + sock.group(1).strip())
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    if non2xx:
        errors.append(f"{non2xx.group(1)} non-2xx responses")
    result["errors"] = errors
    return result


class TransferTimeout(Exception):
    pass


def run_client(args: list[str], timeout: float) -> dict:
    cmd = pinned(CLIENT_CPU, [str(VENV_PY), str(CLIENT), *args])
    try:
        r = run_cmd(cmd, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TransferTimeout(f"not finished after {timeout:.1f} s") from None
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"client gave no result ({r.returncode}): {r.stderr[-400:]}")
    result = json.loads(lines[-1])
    if "error" in result:
        raise RuntimeError(result["error"])
    return result


def idle_connection_memory(server: Server, n: int) -> dict:
    pids = server.pids()
    time.sleep(0.3)
    before = rss_kib(pids)
    fds_before = socket_fds(pids)
    cmd = pinned(CLIENT_CPU, [str(VENV_PY), str(CLIENT), "conns", str(server.port), str(n)])
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        ready_line = _readline_with_timeout(proc, 60.0)
        ready = json.loads(ready_line) if ready_line.startswith("{") else {"error": ready_line}
        if "ready" not in ready:
            raise RuntimeError(f"conns client failed: {ready.get('error')} {proc.stderr.read()[-300:]}")
        time.sleep(0.3)  # let the server settle after the last answer
        pids = server.pids()
        after = rss_kib(pids)
        fds_after = socket_fds(pids)
        proc.stdin.write("done\n")
        proc.stdin.flush()
        out, _ = proc.communicate(timeout=30)
        end = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    return {
        "idle_rss_mib": before / 1024,
        # Per connection the server still holds (one closed by a keep-alive timeout while the others
        # were being opened no longer costs anything).
        "kib_per_conn": (after - before) / max(1, min(n, fds_after - fds_before)),
        "server_sockets_open": fds_after - fds_before,
        "alive_at_end": end.get("alive_at_end"),
        "open_seconds": ready.get("open_seconds"),
    }


def _readline_with_timeout(proc: subprocess.Popen, timeout: float) -> str:
    result: list[str] = []
    t = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)
    t.start()
    t.join(timeout)
    if not result:
        raise RuntimeError(f"no answer from the conns client within {timeout:.0f} s")
    return result[0].strip()


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError, ValueError):
            pass
    return total


def wait_until_idle(server: Server, limit: float = 15.0) -> None:
    """After a cut-off transfer, give the server time to finish chewing before the next test."""
    deadline = time.monotonic() + limit
    last = cpu_ticks(server.pids())
    while time.monotonic() < deadline and server.alive():
        time.sleep(0.25)
        now = cpu_ticks(server.pids())
        if now - last <= 2:
            return
        last = now


def with_peak_rss(server: Server, action) -> dict:
    """``action()`` (a dict of results), plus the server's peak RSS meanwhile (``peak_rss_mib``, from
    VmHWM and 5 ms samples) and its growth over the RSS before (``rss_growth_mib``). If *action* raises,
    the error says how much the RSS grew."""
    pids = server.pids()
    before = rss_kib(pids)
    hwm_ok = reset_hwm(pids)
    error: Exception | None = None
    with RssSampler(pids) as sampler:
        try:
            res = action()
        except Exception as exc:
            error, res = exc, {}
    peak = max(sampler.peak, hwm_kib(pids) if hwm_ok else 0)
    res["peak_rss_mib"] = peak / 1024
    res["rss_growth_mib"] = (peak - before) / 1024
    if error is not None:
        error.args = (f"{error} (server RSS grew by {res['rss_growth_mib']:.0f} MiB meanwhile)",)
        raise error
    return res


def upload_with_peak(server: Server, mib: int, mode: str, verify: bool, timeout: float) -> dict:
    args = ["upload", str(server.port), str(mib), mode] + ([] if verify else ["--no-verify"])
    return with_peak_rss(server, lambda: run_client(args, timeout=timeout))


def validate(server: Server) -> list[str]:
    problems = []
    checks = [("/hello", lambda b: b == b"Hello, world!"),
              ("/json", lambda b: json.loads(b) == {"hello": "world", "n": 1}),
              ("/user/123", lambda b: b.strip() == b"123")]
    for path, ok in checks:
        try:
            status, body = http_get(server.port, path)
            if status != 200 or not ok(body):
                problems.append(f"GET {path} -> {status} {body[:80]!r}")
        except Exception as exc:
            problems.append(f"GET {path} -> {type(exc).__name__}: {exc}")
    return problems


# --------------------------------------------------------------------------- benchmark driver


class Results:
    def __init__(self):
        self.values: dict[str, dict[str, list[float]]] = {}  # peer -> metric -> samples
        self.notes: list[str] = []
        self.unavailable: dict[str, str] = {}
        self.bounds: dict[str, dict[str, float]] = {}  # peer -> metric -> "less than" bound

    def add_bound(self, peer: str, metric: str, bound: float) -> None:
        self.bounds.setdefault(peer, {})[metric] = bound

    def add(self, peer: str, metric: str, value: float) -> None:
        if self._staged is not None:
            self._staged.append((peer, metric, value))
        else:
            self.values.setdefault(peer, {}).setdefault(metric, []).append(value)

    # A server session's numbers are staged and kept only if the server lived through it.
    _staged: list[tuple[str, str, float]] | None = None
    _staged_notes: list[str] = []

    def begin(self) -> None:
        self._staged, self._staged_notes = [], []

    def commit(self) -> None:
        staged, self._staged = self._staged or [], None
        for peer, metric, value in staged:
            self.add(peer, metric, value)
        for msg in self._staged_notes:
            if msg not in self.notes:
                self.notes.append(msg)
        self._staged_notes = []

    def discard(self) -> list[str]:
        """Drop the staged numbers and notes; returns the notes."""
        dropped, self._staged, self._staged_notes = self._staged_notes, None, []
        return dropped

    def note(self, msg: str) -> None:
        log("NOTE " + msg)
        if self._staged is not None:
            self._staged_notes.append(msg)
        elif msg not in self.notes:
            self.notes.append(msg)

    def get(self, peer: str, metric: str) -> list[float]:
        return self.values.get(peer, {}).get(metric, [])


def bench_peer(peer: Peer, s: Settings, wrk: str, results: Results, tag: str) -> None:
    server = Server(peer, 1000, tag)
    try:
        server.start(s.ready_timeout)
    except ServerError:
        server.stop()
        raise
    results.begin()
    try:
        results.add(peer.key, "startup_s", server.startup_s)
        if not peer.floor:
            for problem in validate(server):
                results.note(f"{peer.label}: wrong answer: {problem}")
        # 1. memory per idle keep-alive connection (first, on a fresh server)
        try:
            m = idle_connection_memory(server, s.idle_conns)
            results.add(peer.key, "idle_rss_mib", m["idle_rss_mib"])
            results.add(peer.key, "kib_per_conn", m["kib_per_conn"])
            if m["server_sockets_open"] < s.idle_conns * 0.95 or m["alive_at_end"] != s.idle_conns:
                results.note(f"{peer.label}: idle-connection test: server held "
                             f"{m['server_sockets_open']} new sockets, {m['alive_at_end']} of "
                             f"{s.idle_conns} still open at the end")
        except Exception as exc:
            results.note(f"{peer.label}: idle-connection test failed: {exc}")
        # 2. requests/s and p99 with wrk
        busy: list[float] = []
        for name, path in (("hello", "/hello"), ("json", "/json"), ("user", "/user/123")):
            if not server.alive():
                break
            try:
                if s.warmup:
                    run_wrk(wrk, server.port, path, s.warmup)
                w = run_wrk(wrk, server.port, path, s.duration, server.pids())
                results.add(peer.key, f"{name}_rps", w["rps"])
                results.add(peer.key, f"{name}_p99_ms", w["p99_ms"])
                if "cpu_us_per_req" in w:
                    results.add(peer.key, f"{name}_cpu_us", w["cpu_us_per_req"])
                    busy.append(w["busy_pct"])
                for e in w["errors"]:
                    results.note(f"{peer.label}: wrk GET {path}: {e}")
            except Exception as exc:
                results.note(f"{peer.label}: wrk GET {path} failed: {exc}")
        if busy:
            results.add(peer.key, "busy_pct", statistics.mean(busy))
        # 3. throughput: streamed download, uploads with Content-Length and chunked
        timeout = s.transfer_timeout()
        bound = s.transfer_mib * MIB / (timeout - 3.0) / 1e9
        for _ in range(s.transfer_reps):
            kinds = [] if peer.floor else ["download"]
            for kind in kinds + ["upload_cl", "upload_chunked"]:
                metric = f"{kind}_gbps"
                if not server.alive() or metric in results.bounds.get(peer.key, {}):
                    continue
                what = {"download": "download", "upload_cl": "upload (Content-Length)",
                        "upload_chunked": "upload (chunked)"}[kind]
                try:
                    ticks0 = cpu_ticks(server.pids())
                    if kind == "download":
                        r = run_client(["download", str(server.port), str(s.transfer_mib)], timeout=timeout)
                        if not r.get("chunked"):
                            results.note(f"{peer.label}: /stream answered without chunked encoding")
                    else:
                        r = upload_with_peak(server, s.transfer_mib, kind[7:], verify=not peer.floor,
                                             timeout=timeout)
                        results.add(peer.key, f"{kind}_peak_rss_mib", r["peak_rss_mib"])
                        results.add(peer.key, f"{kind}_rss_growth_mib", r["rss_growth_mib"])
                    results.add(peer.key, metric, r["gbps"])
                    cpu_s = (cpu_ticks(server.pids()) - ticks0) / CLK_TCK
                    results.add(peer.key, f"{kind}_cpu_s_per_gb", cpu_s / (s.transfer_mib * MIB / 1e9))
                except TransferTimeout as exc:
                    results.add_bound(peer.key, metric, bound)
                    wait_until_idle(server)
                    results.note(f"{peer.label}: {s.transfer_mib} MiB {what} cut off, {exc}: slower than "
                                 f"{bound:.2f} GB/s; not tried again for this peer")
                except Exception as exc:
                    results.note(f"{peer.label}: {what} failed: {exc}")
        if not server.healthy():
            dropped = results.discard()
            first = f" First failure seen: {dropped[0]}" if dropped else ""
            raise ServerDied(f"{peer.label}: server exited during its measurements (exit code "
                             f"{server.proc.poll()}; its numbers and notes from this session are "
                             f"discarded).{first}\n{server.log_tail(15)}")
        results.commit()
    finally:
        results.discard()
        server.stop()
    if s.idle_conns_large and not results.get(peer.key, "kib_per_conn_large"):  # once per peer: it is slow
        idle_connections_large(peer, s, results, tag)


def idle_connections_large(peer: Peer, s: Settings, results: Results, tag: str) -> None:
    """Memory per idle connection with ``s.idle_conns_large`` of them, first thing on a fresh server: with
    many connections, memory the process had freed before (and reuses without growing) weighs less."""
    server = Server(peer, 1000, tag + "-idle")
    results.begin()
    try:
        server.start(s.ready_timeout)
        m = idle_connection_memory(server, s.idle_conns_large)
        results.add(peer.key, "kib_per_conn_large", m["kib_per_conn"])
        if m["server_sockets_open"] < s.idle_conns_large * 0.95 or m["alive_at_end"] != s.idle_conns_large:
            results.note(f"{peer.label}: {s.idle_conns_large} idle connections: server held "
                         f"{m['server_sockets_open']} new sockets, {m['alive_at_end']} still open at the end")
        results.commit()
    except Exception as exc:
        results.note(f"{peer.label}: {s.idle_conns_large}-idle-connection test failed: {exc}")
    finally:
        results.discard()
        server.stop()


def bench_routes(routes: int, s: Settings, wrk: str, results: Results, tag: str) -> None:
    peer = PEER_BY_KEY["necktie"]
    server = Server(peer, routes, tag)
    results.begin()
    try:
        server.start(s.ready_timeout)
        results.add("routes", f"{routes}_startup_s", server.startup_s)
        status, body = http_get(server.port, "/user/123")
        if status != 200 or body.strip() != b"123":
            results.note(f"Necktie with {routes} routes: GET /user/123 -> {status} {body[:80]!r}")
        if s.warmup:
            run_wrk(wrk, server.port, "/user/123", s.warmup)
        w = run_wrk(wrk, server.port, "/user/123", s.duration, server.pids())
        results.add("routes", f"{routes}_rps", w["rps"])
        results.add("routes", f"{routes}_p99_ms", w["p99_ms"])
        if "cpu_us_per_req" in w:
            results.add("routes", f"{routes}_cpu_us", w["cpu_us_per_req"])
        for e in w["errors"]:
            results.note(f"Necktie with {routes} routes: wrk: {e}")
        if not server.healthy():
            results.discard()
            raise ServerDied(f"Necktie with {routes} routes: server exited during its measurement (exit "
                             f"code {server.proc.poll()}; discarded):\n{server.log_tail(15)}")
        results.commit()
    finally:
        results.discard()
        server.stop()


def retry(results: Results, session, *args, attempts: int = 2) -> None:
    """Run one server session; if the server dies midway, note it and run the session once more."""
    for attempt in range(attempts):
        try:
            return session(*args)
        except ServerDied as exc:
            results.note(str(exc) + ("\n(session run again)" if attempt + 1 < attempts else ""))
            if attempt + 1 == attempts:
                raise


def run_all(s: Settings, peers: list[Peer], wrk: str, results: Results, run_tag: str) -> None:
    broken: set[str] = set()
    for rnd in range(s.rounds):
        # Rotate the order each round so no peer always runs first or last.
        order = peers[rnd % len(peers):] + peers[: rnd % len(peers)]
        log(f"round {rnd + 1}/{s.rounds}: " + ", ".join(p.key for p in order))
        for peer in order:
            if peer.key in broken:
                continue
            t0 = time.perf_counter()
            try:
                retry(results, bench_peer, peer, s, wrk, results, f"{run_tag}-round{rnd + 1}")
            except ServerError as exc:
                broken.add(peer.key)
                results.unavailable[peer.key] = f"server did not start: {exc}"
                log(f"{peer.label} did not start; skipping it from now on:\n{exc}")
                continue
            except ServerDied:
                continue
            hello = results.get(peer.key, "hello_rps")
            log(f"  {peer.label:26s} {time.perf_counter() - t0:5.1f} s"
                + (f"  hello {hello[-1]:,.0f} req/s" if hello else ""))
        if "necktie" in {p.key for p in peers} and "necktie" not in broken:
            for routes in s.route_counts:
                try:
                    retry(results, bench_routes, routes, s, wrk, results, f"{run_tag}-round{rnd + 1}")
                    log(f"  Necktie, {routes:>6} routes: /user/123 "
                        f"{results.get('routes', f'{routes}_rps')[-1]:,.0f} req/s")
                except Exception as exc:
                    results.note(f"Necktie with {routes} routes failed: {exc}")


# --------------------------------------------------------------------------- report

METRICS = [
    # key, title, unit, higher_is_better, decimals
    ("hello_rps", "GET /hello", "req/s", True, 0),
    ("json_rps", "GET /json", "req/s", True, 0),
    ("user_rps", "GET /user/123 (after 1,000 routes)", "req/s", True, 0),
    ("hello_cpu_us", "GET /hello server CPU time per request", "µs", False, 1),
    ("json_cpu_us", "GET /json server CPU time per request", "µs", False, 1),
    ("user_cpu_us", "GET /user/123 server CPU time per request", "µs", False, 1),
    ("busy_pct", "Server core busy during the wrk runs", "%", True, 0),
    ("hello_p99_ms", "GET /hello p99 latency", "ms", False, 2),
    ("json_p99_ms", "GET /json p99 latency", "ms", False, 2),
    ("user_p99_ms", "GET /user/123 p99 latency", "ms", False, 2),
    ("download_gbps", "Streamed download (64 KiB writes, chunked)", "GB/s", True, 2),
    ("upload_cl_gbps", "Streamed upload, Content-Length", "GB/s", True, 2),
    ("upload_chunked_gbps", "Streamed upload, chunked", "GB/s", True, 2),
    ("download_cpu_s_per_gb", "Download: server CPU time per GB", "s", False, 3),
    ("upload_cl_cpu_s_per_gb", "Upload with Content-Length: server CPU time per GB", "s", False, 3),
    ("upload_chunked_cpu_s_per_gb", "Chunked upload: server CPU time per GB", "s", False, 3),
    ("upload_cl_peak_rss_mib", "Peak server RSS during the Content-Length upload", "MiB", False, 1),
    ("upload_cl_rss_growth_mib", "RSS growth during the Content-Length upload", "MiB", False, 1),
    ("upload_chunked_rss_growth_mib", "RSS growth during the chunked upload", "MiB", False, 1),
    ("kib_per_conn", "Memory per idle keep-alive connection", "KiB", False, 1),
    ("kib_per_conn_large", "Memory per idle keep-alive connection, 10,000 of them", "KiB", False, 2),
    ("idle_rss_mib", "Idle server RSS (fresh, 1,000 routes)", "MiB", False, 1),
    ("startup_s", "Start-up to first answer", "s", False, 2),
]


def fmt(v: float | None, decimals: int) -> str:
    if v is None or v != v:
        return "n/a"
    return f"{v:,.{decimals}f}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or a != a or b != b or b == 0:
        return "–"
    return f"{a / b:.2f}×"


def med(vals: list[float]) -> float | None:
    vals = [v for v in vals if v == v]
    return statistics.median(vals) if vals else None


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def machine_info() -> dict[str, str]:
    info = {"cpu": "unknown", "nproc": str(os.cpu_count())}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        m = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        if m:
            info["cpu"] = m.group(1).strip()
    except OSError:
        pass
    try:
        info["nproc"] = run_cmd(["nproc"], timeout=10).stdout.strip() or info["nproc"]
    except Exception:
        pass
    try:
        mem = re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text())
        info["memory"] = f"{int(mem.group(1)) / 1024 / 1024:.1f} GiB"
    except Exception:
        info["memory"] = "?"
    info["kernel"] = platform.release()
    return info


def package_versions(wrk: str) -> dict[str, str]:
    names = ["necktie-core", "necktie-server", "sanic", "sanic-routing", "uvicorn", "starlette",
             "granian", "aiohttp", "uvloop", "httptools"]
    versions = {}
    try:
        r = run_cmd([str(VENV_PY), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                    timeout=120)
        installed = {d["name"].lower(): d["version"] for d in json.loads(r.stdout)}
        versions = {n: installed.get(n, "not installed") for n in names}
    except Exception as exc:
        versions = {"pip list": f"failed: {exc}"}
    try:
        r = run_cmd([str(VENV_PY), "-c", "import sys; print(sys.version.split()[0])"], timeout=30)
        versions["python"] = r.stdout.strip()
    except Exception:
        pass
    try:
        r = run_cmd([wrk, "--version"], timeout=10)
        versions["wrk"] = (r.stdout + r.stderr).split("Copyright")[0].replace("wrk", "").strip()
    except Exception:
        pass
    return versions


def git_commit() -> str:
    try:
        r = run_cmd(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], timeout=10)
        rev = r.stdout.strip() or "no commit"
        dirty = run_cmd(["git", "-C", str(REPO), "status", "--porcelain", "--", "packages"], timeout=10)
        return rev + (" (packages/ has uncommitted changes)" if dirty.stdout.strip() else "")
    except Exception:
        return "unknown"


def render(results: Results, s: Settings, peers: list[Peer], wrk: str, command: str,
           started: _dt.datetime, elapsed: float, mi: dict[str, str]) -> str:
    versions = package_versions(wrk)
    keys = [p.key for p in peers]
    others = [k for k in keys if k not in ("necktie", "floor")]
    out: list[str] = []
    w = out.append
    w(f"# Necktie benchmark results{' (quick run)' if s.quick else ''}\n")
    w(f"- **Date:** {started.strftime('%Y-%m-%d %H:%M %Z').strip()} (took {elapsed / 60:.1f} min)")
    w(f"- **Machine:** {mi['cpu']}, nproc={mi['nproc']}, {mi['memory']} RAM, Linux {mi['kernel']}")
    w(f"- **Load average** (1/5/15 min) before the run: {mi.get('load_start', '?')}, after: "
      f"{mi.get('load_end', '?')} (other work on the machine skews the numbers; the interleaved "
      f"rounds spread it over all peers)")
    w(f"- **Command:** `{command}`")
    w(f"- **Repository commit:** {git_commit()}")
    w("- **Versions:** " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    w(f"- **Settings:** {s.rounds} round(s), peers interleaved round by round (order rotated each "
      f"round); server on CPU {SERVER_CPU}, load generator on CPU {CLIENT_CPU}"
      f"{'' if PINNING else ' (NOT pinned: taskset missing or <2 CPUs)'}; wrk -t1 -c{CONNECTIONS} "
      f"-d{s.duration}s --latency{f' after a {s.warmup} s warm-up' if s.warmup else ''}; "
      f"transfers of {s.transfer_mib} MiB × {s.transfer_reps} per round; "
      f"{s.idle_conns} idle keep-alive connections"
      f"{f' (and {s.idle_conns_large} on a fresh server, once per peer)' if s.idle_conns_large else ''}; "
      f"one worker process, access log off, "
      f"no MALLOC_* or other tuning variables.")
    w("")
    w("Numbers are medians over rounds with min–max in brackets. A ratio is *this peer ÷ the "
      "reference*: above 1× is better for req/s and GB/s, below 1× is better for latency and "
      "memory. GB/s means 10⁹ bytes per second. The floor answers every request with one "
      "pre-built response, so it has no download number and its upload number is just "
      "HTTP parsing of the body.")
    w("")
    for key, reason in results.unavailable.items():
        w(f"> **{PEER_BY_KEY[key].label} unavailable:** {reason.splitlines()[0]}")
        w("")

    if "necktie" in keys and "necktie" not in results.unavailable:
        w("## Necktie against its peers\n")
        w("| metric | Necktie | ÷ Sanic | ÷ fastest other peer | ÷ floor |")
        w("|---|---:|---:|---:|---:|")
        for key, title, unit, higher, dec in METRICS:
            n = med(results.get("necktie", key))
            less = ""
            if n is None:
                n = results.bounds.get("necktie", {}).get(key)
                if n is None:
                    continue
                less = "< "
            best_k, best_v = None, None
            for k in others:
                v = med(results.get(k, key))
                if v is not None and (best_v is None or (v > best_v if higher else v < best_v)):
                    best_k, best_v = k, v
            sanic = med(results.get("sanic", key))
            floor = med(results.get("floor", key))
            best = f"{less}{ratio(n, best_v)} ({PEER_BY_KEY[best_k].label})" if best_k else "–"
            arrow = "↑" if higher else "↓"
            w(f"| {title} ({unit} {arrow}) | {less}{fmt(n, dec)} | {less}{ratio(n, sanic)} | {best} | "
              f"{less}{ratio(n, floor)} |")
        w("")

    w("## All peers\n")
    for key, title, unit, higher, dec in METRICS:
        if not any(results.get(k, key) or key in results.bounds.get(k, {}) for k in keys):
            continue
        arrow = "higher is better" if higher else "lower is better"
        w(f"### {title} ({unit}, {arrow})\n")
        w("| peer | median | min–max | ÷ Sanic | ÷ floor |")
        w("|---|---:|---:|---:|---:|")
        sanic, floor = med(results.get("sanic", key)), med(results.get("floor", key))
        for k in keys:
            vals = [v for v in results.get(k, key) if v == v]
            label = PEER_BY_KEY[k].label
            if not vals:
                b = results.bounds.get(k, {}).get(key)
                if b is not None:
                    w(f"| {label} | < {fmt(b, dec)} (cut off) | | < {ratio(b, sanic)} | "
                      f"< {ratio(b, floor)} |")
                else:
                    w(f"| {label} | n/a | | | |")
                continue
            m = statistics.median(vals)
            w(f"| {label} | {fmt(m, dec)} | {fmt(min(vals), dec)}–{fmt(max(vals), dec)} | "
              f"{ratio(m, sanic)} | {ratio(m, floor)} |")
        w("")

    if results.values.get("routes"):
        w("## Route-count scaling (Necktie, GET /user/123 registered after N routes)\n")
        w("| routes | req/s median | min–max | ÷ 10 routes | CPU µs/request | p99 ms | start-up s |")
        w("|---:|---:|---:|---:|---:|---:|---:|")
        base = med(results.get("routes", f"{s.route_counts[0]}_rps"))
        for rc in s.route_counts:
            vals = results.get("routes", f"{rc}_rps")
            if not vals:
                w(f"| {rc:,} | n/a | | | | | |")
                continue
            m = statistics.median(vals)
            w(f"| {rc:,} | {fmt(m, 0)} | {fmt(min(vals), 0)}–{fmt(max(vals), 0)} | {ratio(m, base)} | "
              f"{fmt(med(results.get('routes', f'{rc}_cpu_us')), 1)} | "
              f"{fmt(med(results.get('routes', f'{rc}_p99_ms')), 2)} | "
              f"{fmt(med(results.get('routes', f'{rc}_startup_s')), 2)} |")
        w("")

    if results.notes:
        w("## Notes and errors seen during the run\n")
        for n in results.notes:
            first, *rest = n.splitlines()
            w(f"- {first}")
            if rest:
                w("  ```")
                w("\n".join("  " + line for line in rest))
                w("  ```")
        w("")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run in under a minute (1 round, short durations, small transfers); "
                         "writes benchmarks/.results/RESULTS-quick.md, never RESULTS.md")
    ap.add_argument("--peers", default=",".join(p.key for p in PEERS),
                    help="comma-separated subset of: " + ", ".join(p.key for p in PEERS))
    ap.add_argument("--rounds", type=int, help="override the number of rounds")
    ap.add_argument("--duration", type=int, help="override seconds per wrk measurement")
    ap.add_argument("--transfer-mib", type=int, help="override MiB per download/upload")
    ap.add_argument("--output", help="write the markdown report here instead of the default")
    ap.add_argument("--no-install", action="store_true",
                    help="use benchmarks/.venv as it is (no pip install)")
    ap.add_argument("--python", metavar="PATH",
                    help="run the servers on this interpreter (every peer alike), from a virtualenv of its "
                         "own, benchmarks/.venv-pyX.Y; the default is the interpreter running run.py, in "
                         "benchmarks/.venv")
    return ap.parse_args(argv)


def use_python(path: str) -> None:
    """Benchmark on the interpreter at *path*: its own virtualenv, benchmarks/.venv-pyX.Y."""
    global VENV, VENV_PY, VENV_BASE_PY
    version = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    VENV = BENCH_DIR / f".venv-py{version}"
    VENV_PY = VENV / "bin" / "python"
    VENV_BASE_PY = path


@dataclass(frozen=True)
class Extra:
    """A benchmark in a script of its own (see benchmarks/harness.py): ``run.py --quick`` runs it with
    ``--quick --no-install`` as a smoke test, and a full run of run.py keeps its section of RESULTS.md."""

    script: str
    heading: str
    needs: str = ""  # a program the script needs: without it on PATH, the quick run passes over it


# The benchmarks with a script of their own, all in this one list.
EXTRAS = [
    Extra("compression.py", "## Compression"),
    Extra("multipart_upload.py", "## Multipart upload"),
    Extra("ndjson_ingest.py", "## NDJSON ingest"),
    Extra("ws_echo.py", "## WebSocket echo"),
    Extra("sse_fanout.py", "## SSE fan-out"),
    Extra("h2load_hello.py", "## HTTP/2: h2load on GET /hello", needs="h2load"),
]
EXTRA_QUICK_TIMEOUT = 120.0  # seconds for one script's --quick run

# Sections other scripts write into the report (benchmarks/soak.py, benchmarks/callgrind_hello.py's numbers
# and the observability overhead measured with it, benchmarks/rolling_restart.py, the EXTRAS): a run keeps
# them.
KEPT_SECTIONS = (
    "## Soak",
    "## Instructions per /hello (callgrind)",
    "## Rolling restart",
    "## Observability overhead (issue 20)",
    "## The four misses of issue 21",
    *(e.heading for e in EXTRAS),
)


def run_extras_quick() -> list[str]:
    """Run every script of EXTRAS with ``--quick --no-install`` (the virtualenv is ready by then); its
    output goes to ours. Returns the scripts that failed or ran out of time."""
    failed = []
    for extra in EXTRAS:
        if extra.needs and not shutil.which(extra.needs):
            log(f"no quick run of {extra.script}: {extra.needs} is not installed")
            continue
        log(f"quick run of {extra.script}")
        cmd = [sys.executable, str(BENCH_DIR / extra.script), "--quick", "--no-install"]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
        try:
            code = proc.wait(timeout=EXTRA_QUICK_TIMEOUT)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            proc.terminate()  # SIGTERM: the script stops its servers on the way out
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            failed.append(f"{extra.script} (stopped after {EXTRA_QUICK_TIMEOUT:.0f} s or interrupted)")
            continue
        if code != 0:
            failed.append(f"{extra.script} (exit code {code})")
    return failed


def kept_sections(output: Path) -> str:
    """The sections of the report being replaced that a run keeps (`KEPT_SECTIONS`), in their order."""
    old = output.read_text() if output.exists() else ""
    kept = ""
    for heading in KEPT_SECTIONS:
        start = old.find(f"\n{heading}\n")
        if start < 0:
            continue
        end = old.find("\n## ", start + 1)
        kept += "\n" + old[start + 1 : end + 1 if end >= 0 else len(old)].rstrip("\n") + "\n"
    return kept


def main(argv: list[str]) -> int:
    global PINNING
    args = parse_args(argv)
    if args.python:
        use_python(args.python)
    if args.quick:
        s = Settings(quick=True, rounds=1, duration=1, warmup=0, transfer_mib=128, transfer_reps=1,
                     idle_conns=1000, route_counts=(10, 1000, 10000))
    else:
        s = Settings(quick=False, rounds=3, duration=5, warmup=1, transfer_mib=1024, transfer_reps=2,
                     idle_conns=1000, route_counts=(10, 1000, 10000), idle_conns_large=10000)
    if args.rounds:
        s.rounds = args.rounds
    if args.duration:
        s.duration = args.duration
    if args.transfer_mib:
        s.transfer_mib = args.transfer_mib
    unknown = [k for k in args.peers.split(",") if k not in PEER_BY_KEY]
    if unknown:
        sys.exit(f"unknown peer(s): {', '.join(unknown)}")
    peers = [PEER_BY_KEY[k] for k in args.peers.split(",")]
    customized = any([args.rounds, args.duration, args.transfer_mib, args.python,
                      args.peers != ",".join(p.key for p in PEERS)])
    if args.output:
        output = Path(args.output)
    elif args.quick or customized:
        output = SCRATCH / ("RESULTS-quick.md" if args.quick else "RESULTS-custom.md")
    else:
        output = BENCH_DIR / "RESULTS.md"

    if sys.platform != "linux":
        sys.exit("this benchmark needs Linux (/proc, taskset)")
    started = _dt.datetime.now().astimezone()
    t_start = time.perf_counter()
    SCRATCH.mkdir(exist_ok=True)

    atexit.register(stop_all_servers)

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    machine = machine_info()  # before pinning ourselves: nproc honours the affinity mask
    machine["load_start"] = loadavg()
    PINNING = cpu_pinning()
    if PINNING:
        try:  # keep this driver (and its RSS sampler) off the server's core
            os.sched_setaffinity(0, {int(CLIENT_CPU)})
        except OSError:
            pass
    # Raise the open-files limit (inherited by servers and the client) for the idle-connection test.
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        # (the 10,000-connection case needs more than 10,000 in the server and in the client)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 16384), hard), hard))
    except (ImportError, ValueError, OSError):
        pass

    wrk = ensure_wrk()
    necktie_ok, necktie_msg = setup_venv(args.no_install)
    results = Results()
    if not necktie_ok and any(p.key == "necktie" for p in peers):
        log(f"WARNING: {necktie_msg}; benchmarking the other peers only")
        results.unavailable["necktie"] = necktie_msg
        peers = [p for p in peers if p.key != "necktie"]

    run_tag = started.strftime("%Y%m%d-%H%M%S")
    try:
        run_all(s, peers, wrk, results, run_tag)
    except KeyboardInterrupt:
        log("interrupted: stopping servers and writing what was measured")
        results.note("run interrupted before the end")
        if output == BENCH_DIR / "RESULTS.md" and not args.output:
            output = SCRATCH / "RESULTS-interrupted.md"  # RESULTS.md only ever holds complete runs
    finally:
        stop_all_servers()

    elapsed = time.perf_counter() - t_start
    machine["load_end"] = loadavg()
    command = "python benchmarks/run.py " + " ".join(argv)
    all_peers = [p for p in PEERS if p.key in args.peers.split(",")]
    report = render(results, s, all_peers, wrk, command.strip(), started, elapsed, machine)
    raw = SCRATCH / f"raw-{run_tag}{'-quick' if s.quick else ''}.json"
    raw.write_text(json.dumps({"settings": s.__dict__, "values": results.values, "notes": results.notes,
                               "bounds": results.bounds, "unavailable": results.unavailable,
                               "machine": machine}, indent=1))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report + kept_sections(output))
    print()
    print(report)
    log(f"report written to {output} (raw numbers: {raw}); took {elapsed:.0f} s")
    if args.quick:
        failed = run_extras_quick()
        if failed:
            log("FAILED quick runs: " + ", ".join(failed))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
