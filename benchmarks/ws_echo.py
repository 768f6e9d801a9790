#!/usr/bin/env python3
"""WebSocket echo benchmark (issue 21): messages/s, p99 round trip and server CPU per message.

    python benchmarks/ws_echo.py            # full run, ~2 minutes: its section of RESULTS.md
    python benchmarks/ws_echo.py --quick    # smoke run, ~12 s: benchmarks/.results/ws_echo.md

64 connections (ws_client.py, one asyncio process on uvloop, pinned to the client CPU) each keep one
32-byte text message in flight: the next is sent as soon as the echo of the last is back and checked.
The client offers no extension, so every server sends and receives plain frames. Peers, each echoing with
its ordinary API in one process (apps/ws_sse_*.py, apps/ws_websockets.py): Necktie's ``@app.websocket``,
the `websockets` library's own asyncio server (on uvloop), uvicorn + Starlette (uvicorn picks its
WebSocket implementation), aiohttp (its default asyncio loop, as in run.py) and Sanic. The server's CPU
time (/proc) is read at the start and end of the measured window and divided by the messages echoed.
"""

from __future__ import annotations

import datetime as _dt
import sys

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
from run import CLK_TCK, Peer, Results, Server, log
from streamclient import run_measured

HEADING = "## WebSocket echo"
PEERS = [
    Peer("necktie", "Necktie", "ws_sse_necktie.py"),
    Peer("websockets", "websockets (asyncio server)", "ws_websockets.py"),
    Peer("uvicorn", "uvicorn+Starlette", "ws_sse_starlette.py"),
    Peer("aiohttp", "aiohttp", "ws_sse_aiohttp.py"),
    Peer("sanic", "Sanic", "ws_sse_sanic.py"),
]
CONNECTIONS = 64
SIZE = 32


def session(server, peer: Peer, warmup: float, seconds: float, results: Results) -> None:
    """One measured window on a fresh server."""
    r = run_measured(server, "ws_client.py", [str(server.port), str(CONNECTIONS), str(warmup), str(seconds),
                                              str(SIZE)], timeout=60 + warmup + seconds)
    if r["error_count"]:
        results.note(f"{peer.label}: {r['error_count']} connection(s) failed, e.g. {r['errors'][0]}")
    results.add(peer.key, "msgs", r["msgs_per_s"])
    results.add(peer.key, "p99", r["p99_ms"])
    results.add(peer.key, "p50", r["p50_ms"])
    results.add(peer.key, "client_busy", r["client_busy_pct"])
    if "server_cpu_s" in r and r["messages"]:
        results.add(peer.key, "cpu_us", r["server_cpu_s"] * 1e6 / r["messages"])
        results.add(peer.key, "busy", r["server_busy_pct"])


# What the profile says about Necktie's number (kept with the section: it describes the code measured).
ABOUT_NECKTIE = (
    "**Where Necktie's CPU per message goes.** py-spy on the server during this benchmark, before issue 21's "
    "change: the `websockets` protocol's generator-based parser, its `Frame` objects and checks, and "
    "framing each answer through it, took about a third of the server's 19.5 µs per message. Whole plain "
    "data frames (final, masked, text or binary, no extension) are now read and framed by "
    "`necktie_server.ws_frames` (every other frame still goes to the protocol, whole); what is left is the "
    "event loop and its read (~60 % of the samples) and the write system call (~25 %), with the Python of "
    "the echo path at ~15 %. Going further would take fewer system calls, which one message in flight "
    "per connection does not allow, or a cheaper event loop. With permessage-deflate (which browsers "
    "offer) every frame goes through the protocol as before."
)


def render(results: Results, head: list[str]) -> list[str]:
    """The section: the peer table and Necktie's ratios."""
    out = [*head, "",
           f"{CONNECTIONS} connections, one {SIZE}-byte text message in flight on each (a window of 1). "
           "Ratios are of medians over the rounds, Necktie ÷ peer: above 1× is faster for messages/s, "
           "below 1× is better for p99 and CPU. *Busy* is the share of its core the server (or the client) "
           "used in the window. With one message in flight per connection, messages/s and p99 follow how "
           "much of its core the server got: on a shared machine well under 100 %, so the server CPU per "
           "message is the number to compare; a client near 100 % would be the bottleneck.", ""]
    out += peer_table(results, PEERS, [
        Column("msgs", "messages/s", 0, ratio=True),
        Column("p99", "p99 round trip ms", 2, ratio=True),
        Column("p50", "p50 ms", 2),
        Column("cpu_us", "server CPU µs per message", 1, ratio=True),
        Column("busy", "server busy %", 0),
        Column("client_busy", "client busy %", 0),
    ])
    out.append("")
    best = max((p for p in PEERS if p.key != "necktie" and results.get(p.key, "msgs")),
               key=lambda p: median_ratio(results, p.key, "necktie", "msgs") or 0.0, default=None)
    sanic = median_ratio(results, "necktie", "sanic", "msgs")
    if best is not None and sanic is not None:
        ahead = median_ratio(results, "necktie", best.key, "msgs")
        out.append(f"Target (issue 21): ≥ 1.5× Sanic and ahead of every peer. This run: {sanic:.2f}× Sanic "
                   f"({'met' if sanic >= 1.5 else 'missed'}), {ahead:.2f}× the fastest other peer, "
                   f"{best.label} ({'met' if ahead > 1 else 'missed'}).")
        out.append("")
    out += [ABOUT_NECKTIE, ""]
    if results.notes:
        out += ["Notes:", ""] + [f"- {n}" for n in results.notes] + [""]
    return out


def main(argv: list[str]) -> int:
    ap = options(__doc__ or "", rounds=3)
    ap.add_argument("--seconds", type=float, help="measured seconds per session (default 5, quick 1)")
    args = ap.parse_args(argv)
    machine = prepare("ws_echo.py", argv, args.no_install)
    started = _dt.datetime.now().astimezone()
    n_rounds = args.rounds or (1 if args.quick else 3)
    seconds = args.seconds or (1.0 if args.quick else 5.0)
    warmup = 0.5 if args.quick else 1.0
    results = Results()
    tag = "ws_echo-" + started.strftime("%Y%m%d-%H%M%S")
    deadline = Deadline(60 + n_rounds * len(PEERS) * (40 + warmup + seconds), "WebSocket echo run")

    def one(server: Server, peer: Peer, _rnd: int, _variant: object) -> None:
        session(server, peer, warmup, seconds, results)
        log(f"  {peer.label:28s} {results.get(peer.key, 'msgs')[-1]:>9,.0f} messages/s")

    interleaved(PEERS, n_rounds, tag, deadline, results, one)
    command = command_line("ws_echo.py", argv)
    settings = (f"{n_rounds} round(s) of {seconds:g} s measured after {warmup:g} s of warm-up, a fresh "
                f"server per session; CLK_TCK {CLK_TCK}")
    head = report_head(command.strip(), started, machine,
                       ["necktie-server", "websockets", "uvicorn", "starlette", "aiohttp", "sanic", "uvloop"],
                       settings)
    name = "ws_echo-quick" if args.quick else "ws_echo"
    publish(name, HEADING, render(results, head), full=not args.quick and args.rounds is None,
            output=args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
