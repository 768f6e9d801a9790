"""What a benchmark in a script of its own needs around run.py's machinery.

run.py holds the machinery (the virtualenv, starting and stopping servers, /proc readings, CPU pinning);
the scripts listed in run.py's ``EXTRAS`` (compression.py, multipart_upload.py, ndjson_ingest.py, ...)
import it and add, from here: the common options (``--quick``, ``--rounds``, ``--no-install``,
``--output``), the set-up (the virtualenv, then the script re-executed with its interpreter, pinned to
the load generator's CPU), interleaved rounds, a served peer as a context manager, the peer table with
ratios of medians, and the report: a full run replaces the script's section of RESULTS.md, any other run
writes under benchmarks/.results/.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime as _dt
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import run
from run import (
    BENCH_DIR,
    CLIENT_CPU,
    SCRATCH,
    SERVER_CPU,
    VENV,
    VENV_PY,
    Peer,
    Results,
    Server,
    ServerError,
    fmt,
    git_commit,
    loadavg,
    log,
    machine_info,
    setup_venv,
    stop_all_servers,
)

RESULTS_MD = BENCH_DIR / "RESULTS.md"
MACHINE_NOTE = (
    "The machine is shared with other work and noisy: throughput moves by ±20 % between runs; the server's "
    "CPU time per unit of work is the steadier number, and ratios within one run are what to compare."
)


def options(description: str, rounds: int) -> argparse.ArgumentParser:
    """The options every such script takes; add its own before parsing."""
    ap = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="a smoke run of a few seconds (never RESULTS.md)")
    ap.add_argument(
        "--rounds", type=int, default=None, help=f"interleaved rounds (default {rounds}, quick 1)"
    )
    ap.add_argument("--no-install", action="store_true", help="use benchmarks/.venv as it is")
    ap.add_argument("--output", help="write the markdown section here instead of the default")
    return ap


def prepare(script: str, argv: list[str], no_install: bool) -> dict[str, str]:
    """Make the virtualenv and re-execute *script* with its interpreter (so the driver can import the
    peers' codecs and Necktie), then pin this driver to the load generator's CPU, raise the open-files
    limit, and stop every server on exit or SIGTERM. Returns the machine's description."""
    if sys.platform != "linux":
        sys.exit("this benchmark needs Linux (/proc, taskset)")
    if Path(sys.prefix).resolve() != VENV.resolve():
        ok, msg = setup_venv(no_install)
        if not ok:
            sys.exit(f"Necktie is not available: {msg}")
        args = [str(VENV_PY), str(BENCH_DIR / script), *argv]
        os.execv(args[0], args + ([] if no_install else ["--no-install"]))
    machine = machine_info()  # before pinning ourselves: nproc honours the affinity mask
    machine["load_start"] = loadavg()
    run.PINNING = run.cpu_pinning()
    if run.PINNING:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {int(CLIENT_CPU)})
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 8192), hard), hard))
    atexit.register(stop_all_servers)

    def on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    return machine


def rounds(peers: Sequence[Peer], n: int) -> Iterator[tuple[int, list[Peer]]]:
    """(round number, peers in this round's order): the order rotates so drift hits every peer alike."""
    for rnd in range(n):
        k = rnd % len(peers)
        order = [*peers[k:], *peers[:k]]
        log(f"round {rnd + 1}/{n}: " + ", ".join(p.key for p in order))
        yield rnd, order


@contextlib.contextmanager
def serving(peer: Peer, tag: str, timeout: float = 90.0) -> Iterator[Server]:
    """A fresh server of *peer* (pinned to the server CPU, answering ``GET /hello``), stopped afterwards."""
    server = Server(peer, 0, tag)
    try:
        server.start(timeout)
        yield server
    finally:
        server.stop()


def interleaved(
    peers: Sequence[Peer],
    n_rounds: int,
    tag: str,
    deadline: Deadline,
    results: Results,
    session: Callable[[Server, Peer, int, Any], None],
    variants: Sequence[Any] = (None,),
) -> bool:
    """Run *session* (server, peer, round, variant) on a fresh server of each peer, per variant, in
    `rounds`; a server that does not start, or a session that fails, is noted and the run goes on.
    Returns True when the run was cut short (the *deadline*, or Ctrl-C / SIGTERM), which is noted too."""
    try:
        for rnd, order in rounds(peers, n_rounds):
            for peer in order:
                for variant in variants:
                    deadline.check()
                    where = f"{peer.label}{'' if variant is None else f', {variant}'}, round {rnd + 1}"
                    try:
                        with serving(peer, f"{tag}-round{rnd + 1}") as server:
                            session(server, peer, rnd, variant)
                    except ServerError as exc:
                        results.note(f"{where}: server did not start: {str(exc).splitlines()[0]}")
                    except (RuntimeError, TimeoutError) as exc:
                        results.note(f"{where}: failed: {type(exc).__name__} {exc}")
    except (KeyboardInterrupt, TimeoutError) as exc:
        results.note(f"run stopped before the end: {type(exc).__name__} {exc}")
        return True
    finally:
        stop_all_servers()
    return False


def command_line(script: str, argv: Sequence[str]) -> str:
    """How the report names the run: the script and its options (``--no-install`` left out)."""
    return " ".join(["python", f"benchmarks/{script}", *(a for a in argv if a != "--no-install")])


class Deadline:
    """A bound in seconds for a loop: ``check()`` raises `TimeoutError` once it has passed."""

    def __init__(self, seconds: float, what: str) -> None:
        self.end, self.seconds, self.what = time.monotonic() + seconds, seconds, what

    def check(self) -> None:
        """Raise if the time is up."""
        if time.monotonic() > self.end:
            raise TimeoutError(f"{self.what}: not finished after {self.seconds:.0f} s (cut off)")


@dataclass(frozen=True)
class Column:
    """One column of `peer_table`: a metric's median (min–max), and Necktie's ratio to it if *ratio*."""

    metric: str
    title: str
    decimals: int
    ratio: bool = False


def peer_table(
    results: Results, peers: Sequence[Peer], columns: Sequence[Column], ref: str = "necktie"
) -> list[str]:
    """A markdown table, one row per peer: each column's median with min–max, and for the columns with
    ``ratio`` a *ref* ÷ this peer column (ratio of the medians)."""
    head, rule = ["peer"], ["---"]
    for c in columns:
        head.append(c.title)
        rule.append("---:")
        if c.ratio:
            head.append(f"{ref.capitalize()} ÷ peer")
            rule.append("---:")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(rule) + "|"]
    for peer in peers:
        cells = [peer.label]
        for c in columns:
            vals = [v for v in results.get(peer.key, c.metric) if v == v]
            if not vals:
                cells += ["n/a"] + (["–"] if c.ratio else [])
                continue
            m = statistics.median(vals)
            spread = f" ({fmt(min(vals), c.decimals)}–{fmt(max(vals), c.decimals)})" if len(vals) > 1 else ""
            cells.append(fmt(m, c.decimals) + spread)
            if c.ratio:
                r = median_ratio(results, ref, peer.key, c.metric)
                cells.append("–" if r is None or peer.key == ref else f"{r:.2f}×")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def median_ratio(results: Results, a: str, b: str, metric: str) -> float | None:
    """median(a) ÷ median(b) for *metric*, or None when either is missing."""
    va = [v for v in results.get(a, metric) if v == v]
    vb = [v for v in results.get(b, metric) if v == v]
    if not va or not vb or statistics.median(vb) == 0:
        return None
    return statistics.median(va) / statistics.median(vb)


def best_peer(results: Results, peers: Sequence[Peer], metric: str, ref: str = "necktie") -> Peer | None:
    """The peer other than *ref* with the highest median *metric* (None if none has one)."""
    scored = [(statistics.median(v), p) for p in peers if p.key != ref and (v := results.get(p.key, metric))]
    return max(scored, key=lambda t: t[0])[1] if scored else None


def versions(names: Sequence[str]) -> str:
    """``name version`` of each installed distribution in *names* (this interpreter is the venv's)."""
    out = []
    for name in names:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} not installed")
    return ", ".join(out) + f", python {sys.version.split()[0]}"


def report_head(
    command: str, started: _dt.datetime, machine: dict[str, str], packages: Sequence[str], settings: str
) -> list[str]:
    """The lines every section starts with: when, where, what ran, with which versions and settings."""
    elapsed = (_dt.datetime.now().astimezone() - started).total_seconds()
    return [
        f"- **Date:** {started.strftime('%Y-%m-%d %H:%M %Z').strip()} (took {elapsed / 60:.1f} min); "
        f"repository commit {git_commit()}; `{command}`",
        f"- **Machine:** {machine['cpu']}, nproc={machine['nproc']}, Linux {machine['kernel']}; load average "
        f"before {machine.get('load_start', '?')}, after {loadavg()}. {MACHINE_NOTE}",
        f"- **Versions:** {versions(packages)}",
        f"- **Settings:** {settings}; server on CPU {SERVER_CPU}, client on CPU {CLIENT_CPU}"
        f"{'' if run.PINNING else ' (NOT pinned)'}, 127.0.0.1 only, one worker process each, "
        "access log off, peers interleaved round by round (order rotated each round)",
    ]


def record_section(heading: str, lines: Sequence[str], path: Path = RESULTS_MD) -> None:
    """Put *heading* and *lines* into *path* as that section, replacing the last one (run.py keeps it)."""
    text = path.read_text() if path.exists() else ""
    start = text.find(f"\n{heading}\n")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start].rstrip("\n") + ("\n\n" + text[end + 1 :] if end >= 0 else "")
    section = "\n".join([heading, "", *lines])
    path.write_text(text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n")


def publish(name: str, heading: str, lines: Sequence[str], full: bool, output: str | None) -> None:
    """Print the section; a full run puts it into RESULTS.md, any other into benchmarks/.results/."""
    print("\n" + heading + "\n\n" + "\n".join(lines) + "\n", flush=True)
    if output:
        target = Path(output)
    elif full:
        target = RESULTS_MD
    else:
        SCRATCH.mkdir(exist_ok=True)
        target = SCRATCH / f"{name}.md"
        target.write_text("")
    record_section(heading, lines, target)
    log(f"section {heading!r} written to {target}")
