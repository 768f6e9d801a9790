"""Request ids: the id a request is known by, and the context variable that puts it on log records.

An incoming id (the ``REQUEST_ID_HEADER`` header, ``X-Request-ID`` by default) is taken when it is short
and plain (`acceptable`); otherwise the request gets a fresh one (`new_id`: 128 random bits in hex, from a
generator of this module's own, reseeded in a forked child). With ``REQUEST_ID`` on, the pipeline's
observation seam (`pynecktie.observation`) sets `current_request_id` in the request's task and echoes the
id on the response; `RequestIdFilter` copies it onto every log record emitted meanwhile, the
application's own included, when its handler carries the filter.
"""

from __future__ import annotations

import logging
import os
import random
import re
from contextvars import ContextVar
from typing import TYPE_CHECKING

from .headers import raw_header

if TYPE_CHECKING:
    from .request import Request

__all__ = ["MAX_LENGTH", "RequestIdFilter", "acceptable", "current_request_id", "id_for", "id_from", "new_id"]

MAX_LENGTH = 128
_PLAIN = re.compile(
    r"[0-9A-Za-z._:/+=@-]+"
)  # no spaces, quotes, commas or controls: safe in logs and headers

current_request_id: ContextVar[str | None] = ContextVar("necktie_request_id", default=None)
"""The id of the request being handled in this context (None outside one, or with ``REQUEST_ID`` off)."""

# Not the `random` module's shared generator: an application seeding it must not make ids repeat.
_rng = random.Random()
os.register_at_fork(after_in_child=_rng.seed)


def new_id() -> str:
    """A fresh id: 32 lowercase hex digits (128 random bits)."""
    return _rng.getrandbits(128).to_bytes(16, "big").hex()


def acceptable(value: str) -> bool:
    """Whether a client's id may be used as it is: 1 to `MAX_LENGTH` characters of ``[0-9A-Za-z._:/+=@-]``."""
    return len(value) <= MAX_LENGTH and _PLAIN.fullmatch(value) is not None


def id_for(request: Request) -> str:
    """*request*'s id: its ``REQUEST_ID_HEADER`` value when `acceptable`, else a `new_id`."""
    return id_from(request.raw_headers, request.app.config.REQUEST_ID_HEADER.lower().encode("latin-1"))


def id_from(raw_headers: list[tuple[bytes, bytes]], name: bytes) -> str:
    """The id for a request with *raw_headers*: the first value of header *name* (lower case) when
    `acceptable`, else a `new_id`. (The raw headers, not ``request.headers``: nothing else to parse.)"""
    incoming = raw_header(raw_headers, name)
    if incoming is not None and (incoming := incoming.strip()) and acceptable(incoming):
        return incoming
    return new_id()


class RequestIdFilter(logging.Filter):
    """Sets ``record.request_id`` (the request being handled, or None) on every record it sees; passes all.

    Add it to a handler (``handler.addFilter(RequestIdFilter())``): the handler's records, the application's
    own ``logging`` calls among them, then say which request they belong to.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Stamp *record* with the current request's id (unless it carries one already)."""
        if getattr(record, "request_id", None) is None:
            request = getattr(record, "request", None)
            rid = current_request_id.get()
            if rid is None and request is not None and hasattr(request, "id"):
                rid = request.id  # the pipeline's own error records carry their request
            record.request_id = rid
        return True
