#!/usr/bin/env python3
"""HTTP/2 benchmark (issue 22): requests/s on GET /hello with h2load, Necktie against hypercorn and granian.

    python benchmarks/h2load_hello.py            # full run, ~3 minutes: its section of RESULTS.md
    python benchmarks/h2load_hello.py --quick    # smoke run, ~15 s: benchmarks/.results/h2load-quick.md

Each server speaks HTTP/2 over cleartext by prior knowledge (h2c, what ``h2load http://...`` does) and
HTTP/1.1 on the same port: Necktie with ``HTTP2`` on (apps/necktie_app.py, ``NECKTIE_HTTP2=true``),
hypercorn + Starlette on uvloop (apps/hypercorn_app.py) and granian + Starlette (apps/granian_app.py, its
``auto`` mode). ``h2load -t1 -c4 -m16`` keeps 64 streams in flight over 4 connections, after a warm-up run
of its own; every response must be a 2xx, and requests that fail (reset or cut off) are left out of the rate
and noted. Besides requests/s, the server's CPU time (/proc) per request, the steadier number on a busy
machine. Debian's ``nghttp2-client`` provides h2load: installed with apt-get when run as root (as run.py
does for wrk); ``run.py --quick`` runs this script only when h2load is there.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import shutil
import sys

from harness import (
    Column,
    Deadline,
    command_line,
    interleaved,
    options,
    peer_table,
    prepare,
    publish,
    report_head,
)
from run import (
    CLIENT_CPU,
    CLK_TCK,
    HOST,
    Peer,
    Results,
    Server,
    cpu_ticks,
    log,
    pinned,
    run_cmd,
)

HEADING = "## HTTP/2: h2load on GET /hello"
PEERS = [
    Peer("necktie", "Necktie", "necktie_app.py"),
    Peer("hypercorn", "hypercorn+Starlette", "hypercorn_app.py"),
    Peer("granian", "granian+Starlette", "granian_app.py"),
]
CONNECTIONS, STREAMS = 4, 16  # h2load -c / -m: 64 streams in flight


def ensure_h2load() -> str:
    """h2load's path, installing Debian's nghttp2-client when it is missing and this runs as root."""
    found = shutil.which("h2load")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        log("h2load not found: installing nghttp2-client with apt-get")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "nghttp2-client"]):
            if run_cmd(cmd, timeout=600, env=env).returncode != 0:
                break
        found = shutil.which("h2load")
    if found is None:
        sys.exit("h2load is required: install it (Debian/Ubuntu: `sudo apt-get install nghttp2-client`)")
    return found


def h2load(exe: str, port: int, seconds: int, pids: list[int]) -> dict[str, float]:
    """One h2load run of *seconds* on /hello: the requests answered with a 2xx per second, the server's CPU
    µs per request, and how many requests failed (reset or cut off: counted out, noted). A status other
    than 2xx is a RuntimeError."""
    cmd = pinned(CLIENT_CPU, [exe, "-t1", f"-c{CONNECTIONS}", f"-m{STREAMS}", f"-D{seconds}",
                              f"http://{HOST}:{port}/hello"])
    ticks = cpu_ticks(pids)
    r = run_cmd(cmd, timeout=seconds + 30)
    cpu_s = (cpu_ticks(pids) - ticks) / CLK_TCK
    out = r.stdout
    took = re.search(r"finished in ([\d.]+)(m?s),", out)
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed", out)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    if r.returncode != 0 or not (took and done and codes):
        raise RuntimeError(f"h2load failed ({r.returncode}): {out[-400:]} {r.stderr[-200:]}")
    succeeded = int(done.group(2))
    if not succeeded or any(int(n) for n in codes.groups()[1:]):
        raise RuntimeError(f"not every response was a 2xx: {done.group(0)}; {codes.group(0)}")
    elapsed = float(took.group(1)) / (1000 if took.group(2) == "ms" else 1)
    return {"rps": succeeded / elapsed, "cpu_us": cpu_s * 1e6 / succeeded, "failed": int(done.group(3))}


def main(argv: list[str]) -> int:
    ap = options(__doc__ or "", rounds=5)
    ap.add_argument("--duration", type=int, help="seconds per h2load run (default 5, quick 2)")
    args = ap.parse_args(argv)
    machine = prepare("h2load_hello.py", argv, args.no_install)
    started = _dt.datetime.now().astimezone()
    exe = ensure_h2load()
    os.environ["NECKTIE_HTTP2"] = "true"  # read by Necktie's config; the other servers ignore it
    n_rounds = args.rounds or (1 if args.quick else 5)
    duration = args.duration or (2 if args.quick else 5)
    warmup = 0 if args.quick else 1
    results = Results()
    tag = "h2load-" + started.strftime("%Y%m%d-%H%M%S")
    deadline = Deadline(60 + n_rounds * len(PEERS) * (90 + duration + warmup), "h2load run")

    def one(server: Server, peer: Peer, rnd: int, _variant: object) -> None:
        if warmup:
            h2load(exe, server.port, warmup, [])
        got = h2load(exe, server.port, duration, server.pids())
        results.add(peer.key, "rps", got["rps"])
        results.add(peer.key, "cpu_us", got["cpu_us"])
        if got["failed"]:
            results.note(f"{peer.label}, round {rnd + 1}: {got['failed']:.0f} requests failed "
                         "(reset or cut off; not counted)")
        log(f"  {peer.label}: {got['rps']:,.0f} req/s, {got['cpu_us']:.1f} µs CPU per request")

    interrupted = interleaved(PEERS, n_rounds, tag, deadline, results, one)
    command = command_line("h2load_hello.py", argv)
    version = (run_cmd([exe, "--version"], timeout=10).stdout.strip().splitlines() or ["h2load"])[0]
    settings = (f"{n_rounds} round(s); `h2load -t1 -c{CONNECTIONS} -m{STREAMS} -D{duration}`"
                f"{f' after a {warmup} s warm-up run' if warmup else ''} ({version}), "
                f"cleartext HTTP/2 by prior knowledge; a fresh server per run; CLK_TCK {CLK_TCK}")
    head = report_head(command.strip(), started, machine, ["necktie-server", "h2", "hypercorn", "granian",
                                                           "starlette", "uvloop"], settings)
    lines = [*head, "",
             f"{CONNECTIONS * STREAMS} concurrent streams over {CONNECTIONS} connections on GET /hello. "
             "Ratios are of medians over the rounds, Necktie ÷ peer: above 1× is faster for req/s, below "
             "1× is cheaper for CPU per request.", "",
             *peer_table(results, PEERS, [Column("rps", "req/s", 0, ratio=True),
                                          Column("cpu_us", "server CPU µs per request", 1, ratio=True)]), ""]
    if results.notes:
        lines += ["Notes:", "", *[f"- {n}" for n in results.notes], ""]
    full = not (args.quick or args.rounds or args.duration or interrupted)
    publish("h2load-quick" if args.quick else "h2load", HEADING, lines, full, args.output)
    return 0 if results.get("necktie", "rps") and not interrupted else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
