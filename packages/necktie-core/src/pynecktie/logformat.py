"""``LOG_FORMAT=json``: one JSON object per line, for the access log, the error log and the application's.

`JsonFormatter` writes the record's time (ISO 8601, UTC), level, logger, message and request id (see
`pynecktie.request_ids`), a traceback when there is one, and the access log's fields when the record
carries them (``method``, ``route``, ``status``, ``duration``, ``bytes_in``, ``bytes_out``, ``peer``: the
access log passes them as ``extra``). The encoding is orjson's: every string is escaped by it.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from .request_ids import RequestIdFilter, current_request_id

__all__ = ["ACCESS_FIELDS", "JsonFormatter", "configure_json"]

ACCESS_FIELDS = ("method", "path", "route", "status", "duration", "bytes_in", "bytes_out", "peer")
"""The fields of an access log record (its ``extra``) that a JSON line carries."""


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON (no newline inside: line breaks in messages are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record's JSON line."""
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id.get()
        if request_id is None:
            request = getattr(record, "request", None)
            request_id = getattr(request, "id", None)
        line["request_id"] = request_id
        for field in ACCESS_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return orjson.dumps(line, default=str).decode()


def configure_json(debug: bool = False, stream: IO[str] | None = None) -> bool:
    """Send every record (the ``necktie.*`` loggers' and the application's) to stderr as JSON lines,
    each stamped with its request's id; unless logging is configured already. True when it configured."""
    root = logging.getLogger()
    base = logging.getLogger("necktie")
    if root.handlers or base.handlers:
        return False
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    return True
