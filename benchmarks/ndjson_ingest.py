#!/usr/bin/env python3
"""NDJSON ingest benchmark (issue 21): lines/s of an NDJSON upload validated line by line with pydantic.

    python benchmarks/ndjson_ingest.py           # full run, ~1 minute: its section of RESULTS.md
    python benchmarks/ndjson_ingest.py --quick   # smoke run, ~5 s: benchmarks/.results/ndjson_ingest-quick.md

Both apps validate every line with the same pydantic model (apps/ndjson_model.py: a string, an int, a
float, a bool) and answer the count and the sum of one field: Necktie with ``request.stream.ndjson(Reading)``
(apps/ndjson_necktie.py), uvicorn + Starlette with the same loop written by hand on ``request.stream()``
(split each chunk into lines, carry the unfinished one, ``Reading.model_validate_json`` per line). The
client is this process on plain blocking sockets: 10,000 seeded lines (about 60 bytes each) made once and
sent again and again with a Content-Length, never the whole body in memory. Lines/s is from the first byte
sent to the last byte of the answer; the server's CPU time (/proc) is divided by the lines.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
import time

from harness import (
    Column,
    Deadline,
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
    APPS,
    CLK_TCK,
    HOST,
    Peer,
    Results,
    Server,
    cpu_ticks,
    log,
    with_peak_rss,
)

sys.path.insert(0, str(APPS))
from ndjson_model import sample_lines

HEADING = "## NDJSON ingest"
PEERS = [
    Peer("necktie", "Necktie", "ndjson_necktie.py"),
    Peer("starlette", "uvicorn+Starlette (by hand)", "ndjson_starlette.py"),
]
BLOCK_LINES = 10_000
MIN_LINES_S = 20_000  # slower than this, an upload is cut off


def ingest(port: int, block: bytes, total_of_block: float, repeats: int, deadline: Deadline) -> dict:
    """POST /ingest of *block* sent *repeats* times; the answer must count every line."""
    lines = BLOCK_LINES * repeats
    head = (
        f"POST /ingest HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/x-ndjson\r\n"
        f"Content-Length: {len(block) * repeats}\r\n\r\n"
    ).encode()
    sock = connect(port)
    try:
        reader = Reader(sock)
        t0 = time.perf_counter()
        sock.sendall(head)
        for _ in range(repeats):
            sock.sendall(block)
            deadline.check()
        status, headers = reader.read_head()
        _, body = reader.read_body(headers, keep=True)
        elapsed = time.perf_counter() - t0
    finally:
        sock.close()
    answer = json.loads(body) if status == 200 else {}
    if (
        answer.get("count") != lines
        or abs(answer.get("total", 0) - total_of_block * repeats) > 1e-3 * repeats
    ):
        raise ValueError(f"answer {status} {body[:200]!r}, expected {lines} lines")
    return {"lines_s": lines / elapsed}


def session(server, peer: Peer, block: bytes, total_of_block: float, repeats: int, results: Results) -> None:
    """One ingest on a fresh server: lines/s, CPU per line, RSS growth."""
    lines = BLOCK_LINES * repeats
    deadline = Deadline(3.0 + lines / MIN_LINES_S, "ingest")
    ticks0 = cpu_ticks(server.pids())
    try:
        r = with_peak_rss(server, lambda: ingest(server.port, block, total_of_block, repeats, deadline))
    except (OSError, ValueError) as exc:  # TimeoutError included: the deadline or a socket timeout
        results.note(f"{peer.label}: ingest failed or cut off: {type(exc).__name__}: {exc}")
        return
    cpu_us = (cpu_ticks(server.pids()) - ticks0) / CLK_TCK * 1e6 / lines
    results.add(peer.key, "klines_s", r["lines_s"] / 1000)
    results.add(peer.key, "cpu_us_per_line", cpu_us)
    results.add(peer.key, "rss_growth_mib", r["rss_growth_mib"])
    log(f"  {peer.label:28s} {r['lines_s']:,.0f} lines/s, CPU {cpu_us:.2f} µs/line")


def render(results: Results, lines: int, line_bytes: float, head: list[str]) -> list[str]:
    """The section: one table, the peers as rows."""
    out = [
        *head,
        "",
        f"{lines:,} lines of about {line_bytes:.0f} bytes per upload, each validated with the same pydantic "
        "model. Medians over the rounds with min–max; ratios are of medians, Necktie ÷ peer (above 1× is "
        "faster for lines/s, below 1× is cheaper for CPU per line).",
        "",
    ]
    out += peer_table(
        results,
        PEERS,
        [
            Column("klines_s", "thousand lines/s", 0, ratio=True),
            Column("cpu_us_per_line", "server CPU µs per line", 2, ratio=True),
            Column("rss_growth_mib", "RSS growth MiB", 1),
        ],
    )
    speed = median_ratio(results, "necktie", "starlette", "klines_s")
    cpu = median_ratio(results, "necktie", "starlette", "cpu_us_per_line")
    if speed is None or cpu is None:
        out += ["", "**Target** (issue 21): ahead of the same validation by hand on Starlette: not measured."]
    else:
        out += [
            "",
            f"**Target** (issue 21): ahead of the same validation by hand on Starlette. This run: "
            f"{speed:.2f}× its lines/s, {cpu:.2f}× its CPU per line: **{'met' if speed > 1 else 'missed'}**.",
        ]
    if results.notes:
        out += ["", "Notes:", ""] + [f"- {n}" for n in results.notes]
    return out + [""]


def main(argv: list[str]) -> int:
    ap = options(__doc__ or "", rounds=5)
    ap.add_argument(
        "--lines",
        type=int,
        help=f"lines per upload, a multiple of {BLOCK_LINES:,} (default 2,000,000, quick 100,000)",
    )
    args = ap.parse_args(argv)
    machine = prepare("ndjson_ingest.py", argv, args.no_install)
    started = _dt.datetime.now().astimezone()
    n_rounds = args.rounds or (1 if args.quick else 5)
    repeats = max(1, (args.lines or (100_000 if args.quick else 2_000_000)) // BLOCK_LINES)
    block = sample_lines(BLOCK_LINES)
    total_of_block = sum(json.loads(line)["value"] for line in block.splitlines())
    results = Results()
    tag = "ndjson-" + started.strftime("%Y%m%d-%H%M%S")
    deadline = Deadline(60 + n_rounds * len(PEERS) * (60 + BLOCK_LINES * repeats / MIN_LINES_S), "ndjson run")

    def one(server: Server, peer: Peer, _rnd: int, _variant: object) -> None:
        session(server, peer, block, total_of_block, repeats, results)

    interrupted = interleaved(PEERS, n_rounds, tag, deadline, results, one)
    command = command_line("ndjson_ingest.py", argv)
    settings = f"{n_rounds} round(s), one upload of {BLOCK_LINES * repeats:,} lines per peer and round"
    head = report_head(
        command.strip(),
        started,
        machine,
        ["necktie-core", "pydantic", "pydantic-core", "starlette", "uvicorn"],
        settings,
    )
    full = not (args.quick or args.rounds or args.lines or interrupted)
    publish(
        "ndjson_ingest-quick" if args.quick else "ndjson_ingest",
        HEADING,
        render(results, BLOCK_LINES * repeats, len(block) / BLOCK_LINES, head),
        full,
        args.output,
    )
    return 0 if results.get("necktie", "klines_s") and not interrupted else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
