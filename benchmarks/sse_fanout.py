#!/usr/bin/env python3
"""SSE fan-out benchmark (issue 21): 1,000 subscribers of one event source; CPU per delivered event, p99.

    python benchmarks/sse_fanout.py            # full run, ~6 minutes: its section of RESULTS.md
    python benchmarks/sse_fanout.py --quick    # smoke run, ~15 s: benchmarks/.results/sse_fanout.md

Every peer runs the same event source (apps/fanout.py: a queue per subscriber, one task broadcasting R
events a second into all of them) and streams each subscriber's queue with its ordinary SSE API: Necktie's
``pynecktie.response.sse``, Starlette's ``sse-starlette`` (under uvicorn), aiohttp's ``aiohttp-sse``, and
Sanic's streamed ``text/event-stream`` response (it has no SSE helper). sse_client.py (one asyncio process
on uvloop, pinned to the client CPU) opens the subscribers, starts one broadcast and checks each event's
publish stamp on arrival. Per (peer, rate), a fresh server; the server's CPU time (/proc) over the
window is divided by the events delivered in it. The window ends when all events are in or GRACE seconds
after the broadcast, so a server that cannot keep up is measured by what it delivered meanwhile.
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

HEADING = "## SSE fan-out"
PEERS = [
    Peer("necktie", "Necktie", "ws_sse_necktie.py"),
    Peer("starlette", "uvicorn+Starlette sse-starlette", "ws_sse_starlette.py"),
    Peer("aiohttp", "aiohttp aiohttp-sse", "ws_sse_aiohttp.py"),
    Peer("sanic", "Sanic", "ws_sse_sanic.py"),
]
GRACE = 2.0


def session(server, peer: Peer, subscribers: int, rate: int, seconds: float, results: Results) -> None:
    """One broadcast on a fresh server."""
    r = run_measured(server, "sse_client.py", [str(server.port), str(subscribers), str(rate), str(seconds),
                                               str(GRACE)], timeout=120 + seconds + GRACE)
    k = f"r{rate}_"
    if r["closed_early"]:
        results.note(f"{peer.label}: {r['closed_early']} subscriber(s) closed early at {rate} events/s")
    results.add(peer.key, k + "eps", r["events_per_s"])
    results.add(peer.key, k + "delivered_pct", 100.0 * r["delivered"] / r["expected"])
    results.add(peer.key, k + "p50", r["p50_ms"] if r["p50_ms"] is not None else float("nan"))
    results.add(peer.key, k + "p99", r["p99_ms"] if r["p99_ms"] is not None else float("nan"))
    results.add(peer.key, k + "client_busy", r["client_busy_pct"])
    if "server_cpu_s" in r and r["delivered"]:
        results.add(peer.key, k + "cpu_us", r["server_cpu_s"] * 1e6 / r["delivered"])
        results.add(peer.key, k + "busy", r["server_busy_pct"])


# What the profile says about Necktie's numbers (kept with the section: it describes the code measured).
ABOUT_NECKTIE = [
    "**Where Necktie's CPU per event goes.** Each delivery is a subscriber task woken by its queue, the "
    "event encoded, and a write system call. py-spy (`--native`) on the server at 100 events/s before "
    "issue 21's change put ~40 % of its samples in `write` alone: one system call per event per "
    "subscriber, as in every peer (`/proc/PID/io` counts one write per delivered event for Sanic and for "
    "Necktie then). `pynecktie.sse` now batches: the events a subscriber has ready when its task runs go "
    "out in one write (up to 32 KiB) when the task next waits, with the same back-pressure, and a lone "
    "event is never held back for the next. Once subscribers fall behind, the system calls fall with the "
    "backlog (one per 15–25 events at 100 events/s here), so Necktie keeps up where the peers fall "
    "behind; a one-line string event is also encoded without building an `Event`.",
    "**10 events/s.** Nobody falls behind there, so each event is its own write. Until this run Necktie's "
    "CPU per event was 1.23–1.25× Sanic's. Measured one by one (`benchmarks/callgrind_sse.py`: "
    "instructions per delivered event through the real protocol, 200 subscribers; `perf record -e "
    "cpu-clock` on both servers at 10 events/s): the kernel side is not the difference (Necktie's samples "
    "in the kernel were no more than Sanic's, 863 against 917 in 6 s); the interpreter is. The batching "
    "cost a loop callback (a uvloop `Handle`) per subscriber and event: 36,892 instructions per delivery "
    "against 32,190 when each event is written at once. `sse()` now writes the batches queued in one "
    "turn of the loop from one callback for all responses, with the same batching and back-pressure: "
    "34,611 instructions; in runs of this script at 10 events/s only (2 and 3 rounds), Necktie's CPU per "
    "event went from 23.4 µs (1.23× Sanic's) to 19.3 µs (1.05×), and its p99 from 176 to 65 ms. "
    "What is left is mostly the garbage collector: each waiting subscriber "
    "holds 7 fresh GC-tracked objects per event (the async generator's `asend` is one more than Sanic's "
    "6), so each young collection (about one per event with 1,000 subscribers) visits ~7,000 of them, "
    "and a full collection (every tenth middle one, ~10 s here) visits the whole heap: ~105,000 objects "
    "in Necktie's process against ~75,000 in Sanic's. A 4 s broadcast often holds "
    "one of Necktie's full collections and none of Sanic's (perf: 211 samples in the collector against "
    "86). `gc.freeze()` after start-up would take only ~35,000 objects out of the full collections (the "
    "rest is per connection): tried, left out.",
    "**1,000 events/s.** Putting one event into 1,000 queues costs the event source about a millisecond "
    "of CPU (the same code in every peer), so at 1,000 events/s the source alone needs most of the "
    "server's core: every server falls behind from the start, and this rate measures how each copes with "
    "overload (the source, a ticker, publishes at each turn what is due by then and gives the loop a "
    "turn in between).",
]


def render(results: Results, head: list[str], subscribers: int, rates: list[int],
           seconds: float) -> list[str]:
    """The section: a peer table per rate, and Necktie's standing."""
    out = [*head, "",
           f"{subscribers:,} subscribers; each broadcast lasts {seconds:g} s; the window ends when every "
           f"event is in or {GRACE:g} s after the broadcast. *Delivered* is the share of the events "
           "published "
           "that arrived in the window; p50/p99 are over every event published, one not delivered counting "
           "as later than all (n/a: more than that share never arrived, so the server fell behind). "
           "Ratios are of medians over the rounds, Necktie ÷ peer: above 1× is better for events/s, below "
           "1× for CPU and latency. *Busy* is the share of its core the server (or client) used in the "
           "window.", ""]
    verdicts = []
    for rate in rates:
        k = f"r{rate}_"
        out += [f"### {rate:,} events/s to {subscribers:,} subscribers ({rate * subscribers:,} deliveries/s "
                "asked)", ""]
        out += peer_table(results, PEERS, [
            Column(k + "eps", "delivered events/s", 0, ratio=True),
            Column(k + "cpu_us", "server CPU µs per event", 2, ratio=True),
            Column(k + "delivered_pct", "delivered %", 1),
            Column(k + "p50", "p50 ms", 1),
            Column(k + "p99", "p99 ms", 1, ratio=True),
            Column(k + "busy", "server busy %", 0),
            Column(k + "client_busy", "client busy %", 0),
        ]) + [""]
        cpu = [median_ratio(results, "necktie", p.key, k + "cpu_us") for p in PEERS if p.key != "necktie"]
        cpu = [c for c in cpu if c is not None]
        if cpu:
            verdicts.append(f"{rate:,} events/s: CPU per event {max(cpu):.2f}× the cheapest other peer's "
                            f"({'met' if max(cpu) < 1 else 'missed'})")
    if verdicts:
        out += ["Target (issue 21): ahead of every peer. This run: " + "; ".join(verdicts) + ".", ""]
    for paragraph in ABOUT_NECKTIE:
        out += [paragraph, ""]
    if results.notes:
        out += ["Notes:", ""] + [f"- {n}" for n in results.notes] + [""]
    return out


def main(argv: list[str]) -> int:
    ap = options(__doc__ or "", rounds=3)
    ap.add_argument("--seconds", type=float, help="seconds of each broadcast (default 4, quick 1)")
    ap.add_argument("--subscribers", type=int, help="subscribers (default 1000, quick 100)")
    ap.add_argument("--rates", help="comma-separated events/s (default 10,100,1000, quick 100)")
    args = ap.parse_args(argv)
    machine = prepare("sse_fanout.py", argv, args.no_install)
    started = _dt.datetime.now().astimezone()
    n_rounds = args.rounds or (1 if args.quick else 3)
    seconds = args.seconds or (1.0 if args.quick else 4.0)
    subscribers = args.subscribers or (100 if args.quick else 1000)
    rates = [int(r) for r in (args.rates or ("100" if args.quick else "10,100,1000")).split(",")]
    results = Results()
    tag = "sse_fanout-" + started.strftime("%Y%m%d-%H%M%S")
    deadline = Deadline(60 + n_rounds * len(PEERS) * len(rates) * (60 + seconds + GRACE), "SSE fan-out run")

    def one(server: Server, peer: Peer, _rnd: int, rate: int) -> None:
        session(server, peer, subscribers, rate, seconds, results)
        eps = results.get(peer.key, f"r{rate}_eps")[-1]
        log(f"  {peer.label:34s} {rate:>5} events/s: {eps:>9,.0f} delivered/s")

    interleaved(PEERS, n_rounds, tag, deadline, results, one, variants=rates)
    command = command_line("sse_fanout.py", argv)
    settings = (f"{n_rounds} round(s); rates {', '.join(map(str, rates))} events/s, {seconds:g} s each, "
                f"{subscribers} subscribers, a fresh server per (peer, rate); CLK_TCK {CLK_TCK}")
    head = report_head(command.strip(), started, machine,
                       ["necktie-core", "sse-starlette", "starlette", "uvicorn", "aiohttp", "aiohttp-sse",
                        "sanic", "uvloop"], settings)
    name = "sse_fanout-quick" if args.quick else "sse_fanout"
    publish(name, HEADING, render(results, head, subscribers, rates, seconds),
            full=not args.quick and args.rounds is None and args.rates is None, output=args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
