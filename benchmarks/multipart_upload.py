#!/usr/bin/env python3
"""Multipart upload benchmark (issue 21): one 1 GiB file in a multipart/form-data body, GB/s and peak RSS.

    python benchmarks/multipart_upload.py           # full run, ~2 minutes: its section of RESULTS.md
    python benchmarks/multipart_upload.py --quick   # smoke run, ~10 s: .results/multipart_upload-quick.md

Each peer's POST /upload reads the one file part with its ordinary API and answers its size: Necktie's
``request.stream.multipart()`` (apps/multipart_necktie.py), aiohttp's ``request.multipart()`` reader,
Starlette's ``request.form()`` under uvicorn (python-multipart, the file spooled to a temporary file), and
Sanic's ``request.files`` (the body whole in memory first). The client is this process on plain blocking
sockets: the body (a 1 MiB block of seeded random bytes, repeated) is made on the fly and sent with a
Content-Length in 1 MiB ``sendall`` calls, never held whole. GB/s is the file's bytes (10⁹) from the first
byte sent to the last byte of the answer; the server's CPU time (/proc) is divided by the GB; its peak RSS
comes from VmHWM and 5 ms samples (run.with_peak_rss). A fresh server per peer and round; an upload slower
than 100 MiB/s is cut off.
"""

from __future__ import annotations

import datetime as _dt
import json
import random
import sys
import time

from harness import (
    Column,
    Deadline,
    best_peer,
    command_line,
    interleaved,
    median_ratio,
    options,
    peer_table,
    prepare,
    publish,
    report_head,
)
from loadclient import Reader, connect
from run import (
    CLK_TCK,
    HOST,
    MIB,
    Peer,
    Results,
    Server,
    cpu_ticks,
    log,
    wait_until_idle,
    with_peak_rss,
)

HEADING = "## Multipart upload"
PEERS = [
    Peer("necktie", "Necktie", "multipart_necktie.py"),
    Peer("aiohttp", "aiohttp", "multipart_aiohttp.py"),
    Peer("starlette", "uvicorn+Starlette", "multipart_starlette.py"),
    Peer("sanic", "Sanic", "multipart_sanic.py"),
]
BOUNDARY = "necktie-bench-3f9a1c7e5b2d"
MIN_MIB_S = 100.0  # slower than this, an upload is cut off
FLAT_MIB = 64  # RSS growth below this is flat memory (the test suite's bound for a 1 GiB upload)


def upload(port: int, size: int, deadline: Deadline) -> dict:
    """POST /upload of one *size*-byte file part; the answer must name its exact size."""
    block = random.Random(3).randbytes(MIB)
    assert BOUNDARY.encode() not in block
    part_head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="blob.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    head = (
        f"POST /upload HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(part_head) + size + len(tail)}\r\n\r\n"
    ).encode()
    sock = connect(port)
    try:
        reader = Reader(sock)
        t0 = time.perf_counter()
        sock.sendall(head + part_head)
        whole, rest = divmod(size, MIB)
        view = memoryview(block)
        for i in range(whole):
            sock.sendall(view)
            if i % 64 == 63:
                deadline.check()
        sock.sendall(view[:rest])
        sock.sendall(tail)
        status, headers = reader.read_head()
        _, body = reader.read_body(headers, keep=True)
        elapsed = time.perf_counter() - t0
    finally:
        sock.close()
    if status != 200 or json.loads(body) != {"file": size}:
        raise ValueError(f"answer {status} {body[:200]!r}, expected {{'file': {size}}}")
    return {"gbps": size / elapsed / 1e9, "seconds": elapsed}


def session(server, peer: Peer, size: int, results: Results) -> None:
    """One upload on a fresh server: GB/s, CPU per GB, peak RSS and its growth."""
    bound = 3.0 + size / MIB / MIN_MIB_S
    ticks0 = cpu_ticks(server.pids())
    try:
        r = with_peak_rss(server, lambda: upload(server.port, size, Deadline(bound, "upload")))
    except TimeoutError as exc:
        results.note(f"{peer.label}: {exc}: slower than {size / (bound - 3.0) / 1e9:.2f} GB/s")
        wait_until_idle(server)
        return
    except (OSError, ValueError) as exc:
        results.note(f"{peer.label}: upload failed: {type(exc).__name__}: {exc}")
        return
    cpu_s = (cpu_ticks(server.pids()) - ticks0) / CLK_TCK
    results.add(peer.key, "gbps", r["gbps"])
    results.add(peer.key, "cpu_s_per_gb", cpu_s / (size / 1e9))
    results.add(peer.key, "peak_rss_mib", r["peak_rss_mib"])
    results.add(peer.key, "rss_growth_mib", r["rss_growth_mib"])
    log(
        f"  {peer.label:20s} {r['gbps']:.2f} GB/s, CPU {cpu_s / (size / 1e9):.3f} s/GB, "
        f"RSS +{r['rss_growth_mib']:.0f} MiB"
    )


def render(results: Results, size: int, head: list[str]) -> list[str]:
    """The section: one table, the peers as rows."""
    out = [
        *head,
        "",
        f"One file part of {size / MIB:,.0f} MiB (random bytes) in a multipart/form-data body with a "
        "Content-Length. Medians over the rounds with min–max; ratios are of medians, Necktie ÷ peer (above "
        "1× is faster for GB/s, below 1× is cheaper or smaller for the others). *RSS growth* is the peak "
        "over the server's RSS just before the upload.",
        "",
    ]
    out += peer_table(
        results,
        PEERS,
        [
            Column("gbps", "GB/s", 2, ratio=True),
            Column("cpu_s_per_gb", "server CPU s per GB", 3, ratio=True),
            Column("peak_rss_mib", "peak RSS MiB", 1, ratio=True),
            Column("rss_growth_mib", "RSS growth MiB", 1),
        ],
    )
    out += ["", verdict(results)]
    if results.notes:
        out += ["", "Notes:", ""] + [f"- {n}" for n in results.notes]
    return out + [""]


def verdict(results: Results) -> str:
    """Issue 21's target against this run."""
    best = best_peer(results, PEERS, "gbps")
    growth = results.get("necktie", "rss_growth_mib")
    speed = median_ratio(results, "necktie", best.key, "gbps") if best else None
    if best is None or speed is None or not growth:
        return "**Target** (issue 21): ≥ 2× the best peer's GB/s at flat memory: not measured in this run."
    cpu = median_ratio(results, "necktie", best.key, "cpu_s_per_gb") or float("nan")
    flat = max(growth) < FLAT_MIB
    return (
        f"**Target** (issue 21): ≥ 2× the best peer's GB/s at flat memory. This run: {speed:.2f}× "
        f"{best.label} (the fastest peer; CPU per GB {cpu:.2f}× theirs), Necktie's RSS growth at most "
        f"{max(growth):.1f} MiB ({'flat' if flat else 'not flat'}): "
        f"**{'met' if speed >= 2 and flat else 'missed'}**."
    )


def main(argv: list[str]) -> int:
    ap = options(__doc__ or "", rounds=5)
    ap.add_argument("--mib", type=int, help="size of the file part in MiB (default 1024, quick 32)")
    args = ap.parse_args(argv)
    machine = prepare("multipart_upload.py", argv, args.no_install)
    started = _dt.datetime.now().astimezone()
    n_rounds = args.rounds or (1 if args.quick else 5)
    size = (args.mib or (32 if args.quick else 1024)) * MIB
    results = Results()
    tag = "multipart-" + started.strftime("%Y%m%d-%H%M%S")
    deadline = Deadline(60 + n_rounds * len(PEERS) * (60 + 3 + size / MIB / MIN_MIB_S), "multipart run")

    def one(server: Server, peer: Peer, _rnd: int, _variant: object) -> None:
        session(server, peer, size, results)

    interrupted = interleaved(PEERS, n_rounds, tag, deadline, results, one)
    command = command_line("multipart_upload.py", argv)
    settings = f"{n_rounds} round(s), one {size / MIB:,.0f} MiB upload per peer and round on a fresh server"
    head = report_head(
        command.strip(),
        started,
        machine,
        ["necktie-core", "python-multipart", "aiohttp", "starlette", "uvicorn", "sanic"],
        settings,
    )
    full = not (args.quick or args.rounds or args.mib or interrupted)
    publish(
        "multipart_upload-quick" if args.quick else "multipart_upload",
        HEADING,
        render(results, size, head),
        full,
        args.output,
    )
    return 0 if results.get("necktie", "gbps") and not interrupted else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
