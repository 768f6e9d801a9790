"""The access log: one line per response on the ``necktie.access`` logger, control characters escaped.

A line is written when the response has ended (for a streamed response, after its last chunk or when it
was cut short): client (``request.client_ip``: the address trusted proxies report, else the peer),
request line, status, body bytes sent, and the time from the request's head to the end of its response.
The record also carries these as fields (its ``extra``), with the request's id, route template and body
bytes read, for `pynecktie.logformat.JsonFormatter` (``LOG_FORMAT=json``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING

from pynecktie.metrics import bytes_received

if TYPE_CHECKING:
    from .cycle import Cycle

access = logging.getLogger("necktie.access")


def _escape(text: str) -> str:
    return text.encode("unicode_escape", "backslashreplace").decode("ascii").replace('"', '\\"')


def format_duration(seconds: float) -> str:
    """``0.8ms``, ``12ms``, ``3.42s``."""
    if seconds < 0.01:
        return f"{seconds * 1000:.1f}ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    return f"{seconds:.2f}s"


def access_logger() -> Callable[[Cycle], None]:
    """A function that logs one finished cycle: client, method, path, status, bytes sent, duration."""

    def log(cycle: Cycle) -> None:
        if not access.isEnabledFor(logging.INFO):
            return
        request = cycle.request
        assert request is not None
        duration = perf_counter() - cycle.began
        route = request.route
        target = request.target.decode("latin-1")
        access.info(
            '%s "%s %s HTTP/%s" %s %s %s',
            request.client_ip,
            request.method,
            _escape(target),
            request.version,
            cycle.status,
            cycle.sent,
            format_duration(duration),
            extra={  # the fields of a JSON line (LOG_FORMAT=json, pynecktie.logformat)
                "request_id": request.id,
                "method": request.method,
                "path": target,
                "route": route.path if route is not None else None,
                "status": cycle.status,
                "duration": round(duration, 6),
                "bytes_in": bytes_received(request),
                "bytes_out": cycle.sent,
                "peer": request.client_ip,
            },
        )

    return log
