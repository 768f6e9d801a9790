#!/usr/bin/env python3
"""Compression benchmark (issue 19): MB/s and server CPU per MB, gzip / br / zstd, on a JSON and a text body.

    python benchmarks/compression.py            # full run, ~5 minutes: its section of RESULTS.md
    python benchmarks/compression.py --quick    # smoke run, ~10 s: benchmarks/.results/compression-quick.md

Each peer serves the same two bodies of about 400 KB, made in advance (apps/bodies.py), compressed per
request: Necktie with ``COMPRESSION`` on (apps/compression_necktie.py), uvicorn + Starlette's
``GZipMiddleware`` (gzip only) and uvicorn + Litestar's compression (brotli backend with its gzip
fallback). Levels: gzip 6, brotli quality 4, zstd 3 for everyone (Necktie's own; the peers are set to
them: their defaults are gzip 9 and brotli 5). ``wrk -t1 -c8`` asks for one coding at a time with
``Accept-Encoding``; MB/s counts the uncompressed body (10⁶ bytes) per second, and the server's CPU time
(/proc) is divided by the MB served. Every (peer, body, coding) is checked once per server start: the
answer must be in that coding and decode to the body.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import sys
import urllib.request
from collections.abc import Callable

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
    APPS,
    CLK_TCK,
    HOST,
    Peer,
    Results,
    Server,
    ensure_wrk,
    log,
    run_wrk,
)

sys.path.insert(0, str(APPS))
from bodies import BODIES

HEADING = "## Compression"
PEERS = [
    Peer("necktie", "Necktie", "compression_necktie.py"),
    Peer("starlette", "uvicorn+Starlette GZipMiddleware", "compression_starlette.py"),
    Peer("litestar", "uvicorn+Litestar", "compression_litestar.py"),
]
CODINGS = {"necktie": ("gzip", "br", "zstd"), "starlette": ("gzip",), "litestar": ("gzip", "br")}
LEVELS = "gzip level 6, brotli quality 4, zstd level 3"
CONNECTIONS = 8


def _decoder(coding: str) -> Callable[[bytes], bytes]:
    if coding == "gzip":
        return gzip.decompress
    if coding == "br":
        import brotli

        return brotli.decompress  # type: ignore[no-any-return]
    import zstandard

    return lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data)


def check(port: int, name: str, body: bytes, coding: str) -> int:
    """GET /name with ``Accept-Encoding: coding``: the compressed size, if the answer is in that coding and
    decodes to *body* (else `ValueError`)."""
    request = urllib.request.Request(f"http://{HOST}:{port}/{name}", headers={"Accept-Encoding": coding})
    with urllib.request.urlopen(request, timeout=10) as response:
        got, data = response.headers.get("Content-Encoding"), response.read()
    if got != coding:
        raise ValueError(f"asked for {coding}, got Content-Encoding {got!r}")
    if _decoder(coding)(data) != body:
        raise ValueError(f"the {coding} answer does not decode to the body")
    return len(data)


def session(
    server,
    peer: Peer,
    bodies: dict[str, bytes],
    codings: tuple[str, ...],
    wrk: str,
    duration: int,
    warmup: int,
    results: Results,
) -> None:
    """Every (body, coding of *codings*) this peer offers, one wrk run each, on one fresh server."""
    for name, body in bodies.items():
        for coding in [c for c in codings if c in CODINGS[peer.key]]:
            key = f"{name}_{coding}"
            try:
                compressed = check(server.port, name, body, coding)
                headers = (f"Accept-Encoding: {coding}",)
                if warmup:
                    run_wrk(wrk, server.port, f"/{name}", warmup, connections=CONNECTIONS, headers=headers)
                w = run_wrk(wrk, server.port, f"/{name}", duration, server.pids(), CONNECTIONS, headers)
                cpu_us = w["cpu_us_per_req"]
            except Exception as exc:
                results.note(f"{peer.label}: {name} in {coding} failed: {type(exc).__name__}: {exc}")
                continue
            mb = len(body) / 1e6
            results.add(peer.key, f"{key}_mbps", w["rps"] * mb)
            results.add(peer.key, f"{key}_cpu_ms_per_mb", cpu_us / 1000 / mb)
            results.add(peer.key, f"{key}_busy", w["busy_pct"])
            results.add(peer.key, f"{key}_ratio", len(body) / compressed)
            for e in w["errors"]:
                results.note(f"{peer.label}: wrk on /{name} in {coding}: {e}")


def render(
    results: Results, bodies: dict[str, bytes], codings: tuple[str, ...], head: list[str]
) -> list[str]:
    """The section: one table per (body, coding), the peers that offer that coding as rows."""
    out = [
        *head,
        "",
        f"Each body is compressed per request at the same levels ({LEVELS}); MB/s counts the "
        "uncompressed body. Ratios are of medians over the rounds, Necktie ÷ peer: above 1× is faster "
        "for MB/s, below 1× is cheaper for CPU per MB. *Size ratio* is the body's size ÷ its "
        "compressed size (equal levels, so about equal). *Busy* is the share of its core the server "
        "used: under 100 % the server waited on the client or was starved by other work on the machine.",
        "",
    ]
    columns = [
        Column("mbps", "MB/s", 1, ratio=True),
        Column("cpu_ms_per_mb", "server CPU ms per MB", 2, ratio=True),
        Column("ratio", "size ratio", 2),
        Column("busy", "busy %", 0),
    ]
    for name, body in bodies.items():
        for coding in codings:
            peers = [p for p in PEERS if coding in CODINGS[p.key]]
            cols = [Column(f"{name}_{coding}_{c.metric}", c.title, c.decimals, c.ratio) for c in columns]
            out += [
                f"### {name.upper() if name == 'json' else name.capitalize()} body "
                f"({len(body) / 1e3:,.0f} KB), {coding}",
                "",
            ]
            out += peer_table(results, peers, cols) + [""]
    if results.notes:
        out += ["Notes:", ""] + [f"- {n}" for n in results.notes] + [""]
    return out


def main(argv: list[str]) -> int:
    ap = options(__doc__ or "", rounds=3)
    ap.add_argument("--duration", type=int, help="seconds per wrk run (default 5, quick 1)")
    args = ap.parse_args(argv)
    machine = prepare("compression.py", argv, args.no_install)
    started = _dt.datetime.now().astimezone()
    wrk = ensure_wrk()
    n_rounds = args.rounds or (1 if args.quick else 3)
    duration = args.duration or (1 if args.quick else 5)
    warmup = 0 if args.quick else 1
    names = ["json"] if args.quick else list(BODIES)
    codings = ("gzip",) if args.quick else ("gzip", "br", "zstd")
    bodies = {name: BODIES[name][0]() for name in names}
    results = Results()
    tag = "compression-" + started.strftime("%Y%m%d-%H%M%S")
    # Bounded: every wrk run has its own timeout; this bounds the whole run on top.
    deadline = Deadline(60 + n_rounds * len(PEERS) * (30 + 6 * (duration + warmup + 5)), "compression run")

    def one(server: Server, peer: Peer, _rnd: int, _variant: object) -> None:
        session(server, peer, bodies, codings, wrk, duration, warmup, results)
        log(f"  {peer.label}: done")

    interrupted = interleaved(PEERS, n_rounds, tag, deadline, results, one)
    command = command_line("compression.py", argv)
    settings = (
        f"{n_rounds} round(s); wrk -t1 -c{CONNECTIONS} -d{duration}s"
        f"{f' after a {warmup} s warm-up' if warmup else ''} per (body, coding); CLK_TCK {CLK_TCK}"
    )
    head = report_head(
        command.strip(),
        started,
        machine,
        ["necktie-core", "starlette", "litestar", "uvicorn", "brotli", "zstandard"],
        settings,
    )
    full = not (args.quick or args.rounds or args.duration or interrupted)
    publish(
        "compression-quick" if args.quick else "compression",
        HEADING,
        render(results, bodies, codings, head),
        full,
        args.output,
    )
    return 0 if results.get("necktie", f"{names[0]}_gzip_mbps") and not interrupted else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
