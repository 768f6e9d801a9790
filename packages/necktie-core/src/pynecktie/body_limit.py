"""When a request body's declared length is refused: one rule for every carrier.

A buffered route's body is read before its handler runs, so a ``Content-Length`` over the route's limit is
refused at the head, before any body byte is read. A stream route's handler may raise or lower its limit
(``request.stream.max_size``) before it reads, so there the declared length is checked on the first
``get()`` (`pynecktie.request.RequestStream`), against the limit as it is then. necktie-server and the
ASGI adapter both decide with these functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .exceptions import PayloadTooLarge

if TYPE_CHECKING:
    from .routing import Route


def over_limit(length: int | None, limit: int | None) -> bool:
    """Whether a declared body *length* is over *limit* (``None``: unknown length, or no limit)."""
    return length is not None and limit is not None and length > limit


def refuse_declared(length: int | None, limit: int | None) -> None:
    """Raise `PayloadTooLarge` when `over_limit`."""
    if over_limit(length, limit):
        raise PayloadTooLarge(f"Request body of {length} bytes exceeds the limit of {limit}")


def refuse_at_head(route: Route | None, length: int | None, limit: int | None) -> None:
    """At the request head: `refuse_declared` for a route whose body is buffered; a stream route waits
    for its handler's first ``get()``."""
    if route is None or not route.stream:
        refuse_declared(length, limit)
