"""``METRICS_PATH`` under necktie-server: each response counted where it ends, next to the access log.

`meter` makes the server's end-of-response call (``ServerState.on_response``, which `HttpProtocol` makes
for every response anyway) count the response in the app's `pynecktie.metrics.HttpStats` before writing
the access log line; and tells the stats how many connections are open and how many requests are in
flight, read off the server's connections when scraped, so nothing is counted for them per request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynecktie.metrics import stats_of

if TYPE_CHECKING:
    from .cycle import Cycle
    from .server import ServerState

__all__ = ["meter"]


def meter(state: ServerState) -> None:
    """Count *state*'s responses in its app's stats, if the app has them (``METRICS_PATH`` is set)."""
    stats = stats_of(state.app)
    if stats is None:
        return
    connections = state.connections
    stats.connections = lambda: len(connections)
    stats.in_flight = lambda: sum(len(getattr(c, "cycles", ())) for c in connections)
    finished = stats.finished
    log = state.on_response

    def on_response(cycle: Cycle) -> None:
        request = cycle.request
        if request is not None:
            cut = cycle.aborted and cycle.protocol.closed  # given up because the client had gone
            finished(request, cycle.status, cycle.sent, cycle.began, cut)
        if log is not None:
            log(cycle)

    state.on_response = on_response
