"""``METRICS_PATH``: the Prometheus exposition of `pynecktie.metrics.HttpStats`, from one process or many.

The rows become Prometheus metric families only when scraped (`StatsCollector`, through the
``prometheus_client`` package: ``pip install 'necktie-core[metrics]'``). The endpoint also exposes the
application's own ``prometheus_client`` metrics: the default registry's in one process; with several
workers (``stats.gather`` set by necktie-server, which adds up the workers' counts), those of
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode) when it is set. The exposition is
written in a worker thread: collecting may read files (the workers' counts, ``/proc``), never on the loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .metrics import BUCKETS, RECEIVED, SECONDS, SENT, HttpStats, Snapshot
from .observation import MissingExtra
from .response import HTTPResponse

if TYPE_CHECKING:
    from .app import Necktie
    from .request import Request

__all__ = ["StatsCollector", "serve_metrics"]

_LABELS = ("method", "route", "status")
_BOUNDS = [repr(bound) for bound in BUCKETS] + ["+Inf"]


class StatsCollector:
    """A prometheus_client collector of the families made from *snapshots* (one per process), added up."""

    def __init__(self, snapshots: list[Snapshot]) -> None:
        self.snapshots = snapshots

    def collect(self) -> Iterator[Any]:
        """The families."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        rows: dict[tuple[str, str, str], list[Any]] = {}
        aborted: dict[str, int] = {}
        in_flight = websockets = 0
        connections: int | None = None
        for snap in self.snapshots:
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
            cumulative, buckets = 0, []
            for bound, n in zip(_BOUNDS, row[:SECONDS], strict=True):
                cumulative += n
                buckets.append((bound, cumulative))
            requests.add_metric(labels, cumulative)
            duration.add_metric(labels, buckets, row[SECONDS])
            body_in.add_metric(labels, row[RECEIVED])
            body_out.add_metric(labels, row[SENT])
        yield from (requests, duration, body_in, body_out)
        cut = CounterMetricFamily(
            "necktie_streams_aborted", "Streamed responses cut by the client leaving.", labels=["route"]
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
    """Add the ``METRICS_PATH`` route to *app*."""
    try:
        from prometheus_client import CollectorRegistry
        from prometheus_client.exposition import choose_encoder
    except ImportError:
        raise MissingExtra("METRICS_PATH", "prometheus-client", "metrics") from None

    def exposition(own: Snapshot, encode: Any) -> bytes:
        registry = CollectorRegistry(auto_describe=False)
        if stats.gather is None:
            registry.register(StatsCollector([own]))
            registry.register(_Default())
        else:
            registry.register(StatsCollector(stats.gather(own)))
            if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
                from prometheus_client.multiprocess import MultiProcessCollector

                MultiProcessCollector(registry)
        return encode(registry)  # type: ignore[no-any-return]

    async def metrics(request: Request) -> HTTPResponse:
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        # This process's counts are read here, on the loop that changes them; the rest in a thread.
        body = await asyncio.to_thread(exposition, stats.snapshot(), encode)
        return HTTPResponse(body, content_type=content_type)

    path = str(app.config.METRICS_PATH)  # set: this is only called then
    app.route(path, name="necktie.metrics", openapi=False, strict_slashes=True)(metrics)
