"""Sweep Necktie's transfer buffers: request buffer size (uploads) and write buffer high-water mark
(downloads), in interleaved rounds against Sanic as the reference.

Usage: python benchmarks/sweep_buffers.py [--rounds N] [--mib M] [--buffers 262144,1048576,...]
                                          [--write-high 65536,262144,...]

Each variant is a Necktie server started with ``NECKTIE_REQUEST_BUFFER_SIZE`` or ``NECKTIE_WRITE_BUFFER_HIGH``
(the app's own settings, not a tuning variable of the allocator or the interpreter). Every round runs every
variant once, in a rotated order, so the machine's noise spreads over all of them; the report gives the
median GB/s and the median server CPU seconds per GB (the steadier number on a shared machine). Uses
run.py's virtualenv (run it once first), pinning and load client; loopback only, bounded in time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # (the benchmark harness: servers, pinning, the load client)

MIB = 1 << 20


def _variants(buffers: list[int], highs: list[int]) -> list[tuple[str, str, dict[str, str]]]:
    out = [("sanic", "sanic", {})]
    out += [("necktie", f"buffer {b // 1024} KiB", {"NECKTIE_REQUEST_BUFFER_SIZE": str(b)}) for b in buffers]
    out += [("necktie", f"write high {h // 1024} KiB", {"NECKTIE_WRITE_BUFFER_HIGH": str(h)}) for h in highs]
    return out


def _measure(peer_key: str, env: dict[str, str], mib: int, kinds: list[str]) -> dict[str, tuple[float, ...]]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    server = run.Server(run.PEER_BY_KEY[peer_key], 10, "sweep")
    try:
        server.start(90.0)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    results: dict[str, tuple[float, ...]] = {}
    timeout = 3.0 + mib / 100.0
    try:
        for kind in kinds:
            ticks0 = run.cpu_ticks(server.pids())
            if kind == "download":
                r = run.run_client(["download", str(server.port), str(mib)], timeout=timeout)
            else:
                r = run.run_client(["upload", str(server.port), str(mib), kind], timeout=timeout)
            cpu = (run.cpu_ticks(server.pids()) - ticks0) / run.CLK_TCK
            results[kind] = (r["gbps"], cpu / (mib * MIB / 1e9))
    finally:
        server.stop()
    return results


def main() -> None:
    """Run the sweep and print a markdown table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--mib", type=int, default=512)
    p.add_argument("--buffers", default="262144,1048576,4194304")
    p.add_argument("--write-high", default="65536,262144,1048576")
    args = p.parse_args()
    buffers = [int(x) for x in args.buffers.split(",") if x]
    highs = [int(x) for x in args.write_high.split(",") if x]
    variants = _variants(buffers, highs)
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for rnd in range(args.rounds):
        order = variants[rnd % len(variants) :] + variants[: rnd % len(variants)]
        for peer_key, label, env in order:
            if label.startswith("buffer"):
                kinds = ["cl", "chunked"]
            elif label.startswith("write"):
                kinds = ["download"]
            else:
                kinds = ["cl", "chunked", "download"]
            try:
                for kind, value in _measure(peer_key, env, args.mib, kinds).items():
                    samples.setdefault((label, kind), []).append(value)
            except Exception as exc:  # one failed variant must not end the sweep
                print(f"round {rnd + 1}: {label}: {exc}", file=sys.stderr)
        print(f"round {rnd + 1} of {args.rounds} done", file=sys.stderr, flush=True)
    print("| variant | transfer | GB/s (median) | min–max | server CPU s/GB (median) |")
    print("|---|---|---:|---:|---:|")
    for (label, kind), values in samples.items():
        gbps = [v[0] for v in values]
        cpu = [v[1] for v in values]
        print(f"| {label} | {kind} | {statistics.median(gbps):.2f} | {min(gbps):.2f}–{max(gbps):.2f} "
              f"| {statistics.median(cpu):.3f} |")


if __name__ == "__main__":
    main()
