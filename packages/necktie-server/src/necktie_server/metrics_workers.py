"""``METRICS_PATH`` with several workers: every worker's counts, added up by whichever one is scraped.

Before the workers start, the supervisor prepares a directory they share (`prepare_worker_dir`:
``PROMETHEUS_MULTIPROC_DIR`` when set, else a temporary one removed at exit) and empties it of earlier
counts. Each worker writes its counts to a file of its own there (``necktie-<pid>.json``, replaced whole)
every `FLUSH_INTERVAL` seconds and when it stops; the worker answering a scrape writes its own first and
adds up all the files (`WorkerFiles.gather`). Every file's counts only grow, so the totals do too whichever
worker answers; the counters of a worker that has exited stay in them, its gauges are dropped. The files
are written and read in worker threads, never on the loop.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from pynecktie.metrics import SECONDS, HttpStats, Snapshot

if TYPE_CHECKING:
    from pynecktie.app import Necktie

__all__ = ["FLUSH_INTERVAL", "WORKER_DIR_ENV", "WorkerFiles", "prepare_worker_dir", "share"]

WORKER_DIR_ENV = "_NECKTIE_METRICS_DIR"  # set by the supervisor for its workers (not NECKTIE_*: no setting)
FLUSH_INTERVAL = 1.0  # seconds between a worker's writes of its counts


class WorkerFiles:
    """A worker's side of the shared directory."""

    def __init__(self, folder: Path, stats: HttpStats) -> None:
        self.folder = folder
        self.stats = stats
        self.pid = os.getpid()
        self.path = folder / f"necktie-{self.pid}.json"
        # The flush task and a scrape write from two threads: one at a time, and never an older snapshot
        # over a newer one (both are taken on the loop, but their threads may run in either order).
        self._lock = threading.Lock()
        self._written = -1

    def write(self, snap: Snapshot) -> None:
        """Replace this worker's file with *snap*, unless the file already holds later counts."""
        counted = _requests(snap)
        with self._lock:
            if counted < self._written:
                return
            staged = self.path.with_suffix(".tmp")
            staged.write_bytes(orjson.dumps(snap))
            os.replace(staged, self.path)
            self._written = counted

    async def keep_writing(self) -> None:
        """Write the counts every `FLUSH_INTERVAL` seconds (an app task: cancelled at shut-down)."""
        while True:
            await asyncio.to_thread(self.write, self.stats.snapshot())
            await asyncio.sleep(FLUSH_INTERVAL)

    def gather(self, own: Snapshot) -> list[Snapshot]:
        """Every worker's counts, from the files, this worker's (*own*) written first."""
        self.write(own)
        found = []
        for path in self.folder.glob("necktie-*.json"):
            pid = int(path.stem.partition("-")[2])
            try:
                snap = orjson.loads(path.read_bytes())
            except (OSError, ValueError):
                continue  # gone meanwhile
            if pid != self.pid and not _alive(pid):
                snap.update(in_flight=0, websockets=0, connections=None)
            found.append(snap)
        return found


def _requests(snap: Snapshot) -> int:
    """The requests *snap* counted: it only grows, so it orders one process's snapshots."""
    return sum(sum(row[3 : 3 + SECONDS]) for row in snap["rows"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def share(app: Necktie, stats: HttpStats) -> None:
    """In a worker (the supervisor set `WORKER_DIR_ENV`): count with the other workers. At start-up."""
    folder = os.environ.get(WORKER_DIR_ENV)
    if folder is None or stats.gather is not None:
        return
    files = WorkerFiles(Path(folder), stats)
    stats.gather = files.gather
    app.add_task(files.keep_writing, name="necktie.metrics")

    async def last_write(_app: Necktie) -> None:
        await asyncio.to_thread(files.write, stats.snapshot())

    app.after_server_stop(last_write)


def prepare_worker_dir(app: Necktie) -> None:
    """In the supervisor, before the workers start: with ``METRICS_PATH`` set, the directory they share,
    emptied of earlier counts (``PROMETHEUS_MULTIPROC_DIR``'s own files too)."""
    if not app.config.METRICS_PATH:
        return
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in [*folder.glob("*.db"), *folder.glob("necktie-*.json"), *folder.glob("necktie-*.tmp")]:
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
    else:
        folder = Path(tempfile.mkdtemp(prefix="necktie-metrics-"))
        atexit.register(shutil.rmtree, folder, True)
    os.environ[WORKER_DIR_ENV] = str(folder)
