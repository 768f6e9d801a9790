"""``METRICS_PATH``: the Prometheus exposition of `pynecktie.metrics.HttpStats`, from one process or many.

The rows become Prometheus metric families only when scraped (`StatsCollector`, through the
``prometheus_client`` package: ``pip install 'necktie-core[metrics]'``). The endpoint also exposes the
application's own ``prometheus_client`` metrics: the default registry's in one process, and with several
workers those of ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode) when it is set.

With several workers each one writes its counts to a file of its own (``necktie-<pid>.json``, replaced
whole every `FLUSH_INTERVAL` seconds and when it stops) in a directory the supervisor empties at start
(`prepare_worker_dir`: ``PROMETHEUS_MULTIPROC_DIR`` when set, else a temporary one). The worker that
answers a scrape writes its own file, then adds up all of them: counters of workers that have exited are
kept (so totals never go back), their gauges dropped.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from .metrics import BUCKETS, FIRST_BUCKET, HttpStats
from .observation import MissingExtra
from .response import HTTPResponse

if TYPE_CHECKING:
    from .app import Necktie
    from .request import Request

__all__ = ["FLUSH_INTERVAL", "WORKER_DIR_ENV", "StatsCollector", "prepare_worker_dir", "serve_metrics"]

WORKER_DIR_ENV = "_NECKTIE_METRICS_DIR"  # set by the supervisor for its workers (not NECKTIE_*: no setting)
FLUSH_INTERVAL = 1.0  # seconds between a worker's writes of its counts
_LABELS = ("method", "route", "status")
_BOUNDS = [repr(bound) for bound in BUCKETS] + ["+Inf"]

Snapshot = dict[str, Any]


class StatsCollector:
    """A prometheus_client collector that turns snapshots of `HttpStats` (one per process) into families."""

    def __init__(self, snapshots: Callable[[], list[Snapshot]]) -> None:
        self.snapshots = snapshots

    def collect(self) -> Iterator[Any]:
        """The families, the processes' counts added up."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        rows: dict[tuple[str, str, str], list[Any]] = {}
        aborted: dict[str, int] = {}
        in_flight = websockets = 0
        connections: int | None = None
        for snap in self.snapshots():
            for method, route, status, *row in snap["rows"]:
                total = rows.setdefault((method, route, str(status)), [0] * len(row))
                for i, value in enumerate(row):
                    total[i] += value
            for route, count in snap["aborted"].items():
                aborted[route] = aborted.get(route, 0) + count
            in_flight += snap["in_flight"]
            websockets += snap["websockets"]
            if snap.get("connections") is not None:
                connections = (connections or 0) + snap["connections"]
        what = "by method, route and status"
        requests = CounterMetricFamily("necktie_requests", f"Requests answered, {what}.", labels=_LABELS)
        duration = HistogramMetricFamily(
            "necktie_request_duration_seconds",
            f"From the request's head to the response's end, {what}.",
            labels=_LABELS,
        )
        body_in = CounterMetricFamily(
            "necktie_request_body_bytes", f"Request body bytes read, {what}.", labels=_LABELS
        )
        body_out = CounterMetricFamily(
            "necktie_response_body_bytes", f"Response body bytes sent, {what}.", labels=_LABELS
        )
        for labels, row in sorted(rows.items()):
            count, seconds, read, sent = row[:FIRST_BUCKET]
            cumulative, buckets = 0, []
            for bound, n in zip(_BOUNDS, row[FIRST_BUCKET:], strict=True):
                cumulative += n
                buckets.append((bound, cumulative))
            requests.add_metric(labels, count)
            duration.add_metric(labels, buckets, seconds)
            body_in.add_metric(labels, read)
            body_out.add_metric(labels, sent)
        yield from (requests, duration, body_in, body_out)
        cut = CounterMetricFamily(
            "necktie_streams_aborted",
            "Streamed responses cut by the client leaving.",
            labels=["route"],
        )
        for route, count in sorted(aborted.items()):
            cut.add_metric([route], count)
        yield cut
        yield GaugeMetricFamily("necktie_requests_in_flight", "Requests being handled.", value=in_flight)
        yield GaugeMetricFamily("necktie_websockets_open", "Open WebSocket connections.", value=websockets)
        if connections is not None:
            yield GaugeMetricFamily("necktie_connections_open", "Open client connections.", value=connections)


class _Default:
    """The application's own metrics in one process: prometheus_client's default registry."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client import REGISTRY

        yield from REGISTRY.collect()


def serve_metrics(app: Necktie, stats: HttpStats) -> None:
    """Add the ``METRICS_PATH`` route to *app* (and, in a worker, the writing of its counts to its file)."""
    try:
        from prometheus_client import CollectorRegistry
        from prometheus_client.exposition import choose_encoder
    except ImportError:
        raise MissingExtra("METRICS_PATH", "prometheus-client", "metrics") from None
    registry = CollectorRegistry(auto_describe=False)
    folder = os.environ.get(WORKER_DIR_ENV)
    if folder is None:
        registry.register(StatsCollector(lambda: [stats.snapshot()]))
        registry.register(_Default())
    else:
        files = _WorkerFiles(Path(folder), stats)
        registry.register(StatsCollector(files.read_all))
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client.multiprocess import MultiProcessCollector

            MultiProcessCollector(registry)
        app.add_task(files.keep_writing, name="necktie.metrics")
        app.after_server_stop(lambda _app: files.write())

    async def metrics(request: Request) -> HTTPResponse:
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return HTTPResponse(encode(registry), content_type=content_type)

    path = str(app.config.METRICS_PATH)  # set: this is only called then
    app.route(path, name="necktie.metrics", openapi=False, strict_slashes=True)(metrics)


class _WorkerFiles:
    """A worker's side of the shared directory: its own file written, everyone's read at a scrape."""

    def __init__(self, folder: Path, stats: HttpStats) -> None:
        self.folder = folder
        self.stats = stats
        self.pid = os.getpid()
        self.path = folder / f"necktie-{self.pid}.json"

    def write(self) -> None:
        """Replace this worker's file with its counts now."""
        staged = self.path.with_suffix(".tmp")
        staged.write_bytes(orjson.dumps(self.stats.snapshot()))
        os.replace(staged, self.path)

    async def keep_writing(self) -> None:
        """Write the counts every `FLUSH_INTERVAL` seconds (an app task: cancelled at shut-down)."""
        while True:
            self.write()
            await asyncio.sleep(FLUSH_INTERVAL)

    def read_all(self) -> list[Snapshot]:
        """Every worker's counts, from the files: this worker's written first, so it is current.

        Each file's counts only grow, so their sum does too, whichever worker answers the scrape (live
        counts of its own added to the others' older ones would make a total go back between two scrapes
        answered by different workers). The gauges of workers that have exited are dropped.
        """
        self.write()
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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prepare_worker_dir(app: Necktie) -> None:
    """In the supervisor, before the workers start: with ``METRICS_PATH`` set, the directory they share
    (``PROMETHEUS_MULTIPROC_DIR``, else a temporary one removed at exit), emptied of earlier counts."""
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
