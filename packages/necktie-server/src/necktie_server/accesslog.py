"""The access log: one line per response on the ``necktie.access`` logger, control characters escaped.

A line is written when the response has ended (for a streamed response, after its last chunk or when it
was cut short): client (``request.client_ip``: the address trusted proxies report, else the peer),
request line, status, body bytes sent, and the time from the request's head to the end of its response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING

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
        access.info(
            '%s "%s %s HTTP/%s" %s %s %s',
            request.client_ip,
            request.method,
            _escape(request.target.decode("latin-1")),
            request.version,
            cycle.status,
            cycle.sent,
            format_duration(perf_counter() - cycle.began),
        )

    return log
