"""The access log: one line per response on the ``necktie.access`` logger, control characters escaped."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cycle import Cycle

access = logging.getLogger("necktie.access")


def _escape(text: str) -> str:
    return text.encode("unicode_escape", "backslashreplace").decode("ascii").replace('"', '\\"')


def access_logger() -> Callable[[Cycle], None]:
    """A function that logs one finished cycle: client, method, path, status, bytes sent."""

    def log(cycle: Cycle) -> None:
        if not access.isEnabledFor(logging.INFO):
            return
        request = cycle.request
        assert request is not None
        access.info('%s "%s %s HTTP/%s" %s %s', request.ip, request.method,
                    _escape(request.target.decode("latin-1")), request.version, cycle.status, cycle.sent)

    return log
