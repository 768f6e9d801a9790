"""Request metrics, counted per process in plain dicts and lists (the exposition is `metrics_export`'s).

Counting per request must cost next to nothing: the carrier calls `HttpStats.finished` where it ends a
response anyway (necktie-server where it writes its access log, the ASGI adapter at the end of the
exchange), and that adds to one row per (method, route, status) found in a dict: the duration histogram's
bucket counts (their sum is the request count), the summed duration, and body bytes out and in. Labels
and Prometheus's objects are made from the rows only when scraped. Labels are bounded: the route's
template (``/users/<id:int>``, never the raw path; `UNMATCHED` when no route matched) and, for requests no
route matched, a known method (else ``other``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

if TYPE_CHECKING:
    from .app import Necktie
    from .request import Request
    from .route import Route

__all__ = ["BUCKETS", "UNMATCHED", "HttpStats", "Snapshot", "bytes_received", "install_metrics", "stats_of"]

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""The duration histogram's upper bounds in seconds (Prometheus's usual ones); ``+Inf`` comes after."""
UNMATCHED = "(unmatched)"
"""The route label of a request no route matched (a 404, or a 405 listing the allowed methods)."""
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"))
NO_RESPONSE = 499  # the status label of a request given up before any response went out
SECONDS = len(BUCKETS) + 1  # a row: the buckets (+Inf last), then the seconds, bytes out, bytes in
SENT, RECEIVED, ROW_SIZE = SECONDS + 1, SECONDS + 2, SECONDS + 3
assert (SECONDS, SENT, RECEIVED, BUCKETS[0]) == (12, 13, 14, 0.005)  # as `HttpStats.finished` spells them

Snapshot = dict[str, Any]
"""One process's counts as plain data: ``rows`` ([method, route, status, *row]), ``in_flight``,
``aborted`` (route: count), ``websockets``, ``connections`` (None: not known)."""


class HttpStats:
    """One process's request counts, kept by the carrier (it calls `finished` as each response ends).

    ``rows`` maps (method, route, status) to a row; ``aborted`` counts, per route, streamed responses cut
    because the client left; ``websockets`` is the number of open websockets. The carrier tells the open
    connections and the requests in flight through ``connections`` and ``in_flight`` when it knows them
    better than ``begun - ended`` (necktie-server reads them off its connections at scrape time), and
    ``gather`` turns this process's `Snapshot` into every process's (necktie-server's workers).
    """

    def __init__(self) -> None:
        self.rows: dict[tuple[str, Route | None, int], list[Any]] = {}
        self.begun = self.ended = self.websockets = 0
        self.aborted: dict[str, int] = {}
        self.connections: Callable[[], int] | None = None
        self.in_flight: Callable[[], int] | None = None
        self.gather: Callable[[Snapshot], list[Snapshot]] | None = None

    def finished(self, request: Request, status: int, sent: int, began: float, cut: bool) -> None:
        """Count a request whose response ended (or was given up): *status* and *sent* body bytes as the
        carrier sent them, *began* its `perf_counter` at the start, *cut* when the client left mid-stream."""
        duration = perf_counter() - began
        route = request.route
        method = request.method
        if route is None and method not in METHODS:
            method = "other"  # (a route's own methods are a bounded set)
        key = (method, route, status)
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = [0] * SECONDS + [0.0, 0, 0]
        # (Literal indices: SECONDS, SENT and RECEIVED are 12, 13 and 14; most requests take under 5 ms.)
        row[0 if duration <= 0.005 else bisect_left(BUCKETS, duration)] += 1
        row[12] += duration
        if sent:
            row[13] += sent
        stream = request.stream
        received = len(request.body) if stream is None else stream.received  # (bytes_received, inline)
        if received:
            row[14] += received
        if cut:
            template = UNMATCHED if route is None else route.path
            self.aborted[template] = self.aborted.get(template, 0) + 1

    def snapshot(self) -> Snapshot:
        """The counts as plain data, labelled (what a scrape shows, and what workers exchange)."""
        rows: dict[tuple[str, str, int], list[Any]] = {}
        for (method, route, status), row in self.rows.items():
            labels = (method, UNMATCHED if route is None else route.path, status or NO_RESPONSE)
            total = rows.get(labels)
            rows[labels] = list(row) if total is None else [a + b for a, b in zip(total, row, strict=True)]
        return {
            "rows": [[*labels, *row] for labels, row in rows.items()],
            "in_flight": self.in_flight() if self.in_flight is not None else self.begun - self.ended,
            "aborted": dict(self.aborted),
            "websockets": self.websockets,
            "connections": self.connections() if self.connections is not None else None,
        }


def bytes_received(request: Request) -> int:
    """The request body bytes read so far (the whole body's, for a route that is not streamed)."""
    stream = request.stream
    return len(request.body) if stream is None else stream.received


_stats: WeakKeyDictionary[Necktie, HttpStats] = WeakKeyDictionary()


def stats_of(app: Necktie) -> HttpStats | None:
    """*app*'s `HttpStats`, or None when ``METRICS_PATH`` is not set."""
    return _stats.get(app)


def install_metrics(app: Necktie) -> HttpStats:
    """Count *app*'s requests and serve them at ``METRICS_PATH`` (`metrics_export`); at finalize, once."""
    from .metrics_export import serve_metrics

    stats = _stats.get(app)
    if stats is None:
        stats = _stats[app] = HttpStats()
        serve_metrics(app, stats)
    return stats
