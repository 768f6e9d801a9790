"""``METRICS_PATH`` under necktie-server: each response counted where it ends, next to the access log.

`meter` gives the server the app's `pynecktie.metrics.HttpStats` (``ServerState.stats``), in which
`HttpProtocol` counts every response as it ends, as it writes the access log line; it tells the stats how
many connections are open and how many requests are in flight by reading the server's connections at
scrape time, so nothing is counted for those per request; and in a worker it counts with the other
workers (`necktie_server.metrics_workers`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pynecktie.metrics import stats_of

from .metrics_workers import share

if TYPE_CHECKING:
    from .server import ServerState

__all__ = ["meter", "note_response"]


def meter(state: ServerState) -> None:
    """Count *state*'s responses in its app's stats, if the app has them (``METRICS_PATH`` is set)."""
    stats = stats_of(state.app)
    if stats is None:
        return
    connections = state.connections
    stats.connections = lambda: len(connections)
    stats.in_flight = lambda: sum(len(getattr(c, "cycles", ())) for c in connections)
    share(state.app, stats)
    state.stats = stats


def note_response(server: ServerState, exchange: Any, cut: bool = False) -> None:
    """Count and log one response that ended: an HTTP/2 stream (`Cycle` does it inline, in
    `HttpProtocol.response_done`, on the hot path), which has a cycle's request, status, sent and began;
    *cut* when it was reset before its end (by the client, or by the server giving up)."""
    if exchange.request is None:
        return
    if server.stats is not None:
        server.stats.finished(exchange.request, exchange.status, exchange.sent, exchange.began, cut)
    if server.access_log is not None:
        server.access_log(exchange)
