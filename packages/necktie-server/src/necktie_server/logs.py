"""Logging set-up for the ``necktie.*`` loggers: a stderr handler, coloured on a terminal unless NO_COLOR."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import IO

from pynecktie.logformat import configure_json

_LEVEL_COLORS = {
    logging.DEBUG: "\x1b[36m",
    logging.INFO: "\x1b[32m",
    logging.WARNING: "\x1b[33m",
    logging.ERROR: "\x1b[31m",
    logging.CRITICAL: "\x1b[1;31m",
}
_DIM, _RESET = "\x1b[2m", "\x1b[0m"


def use_color(stream: IO[str], environ: Mapping[str, str] = os.environ) -> bool:
    """Colour only a terminal, and never when ``NO_COLOR`` is set to a non-empty value (no-color.org)."""
    if environ.get("NO_COLOR", ""):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Formatter(logging.Formatter):
    """``time [pid] LEVEL logger: message``, the level and time coloured when asked."""

    def __init__(self, color: bool) -> None:
        super().__init__(
            "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s", datefmt="%Y-%m-%d %H:%M:%S"
        )
        self.color = color

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The line as the stdlib formats it, the level and time coloured when asked."""
        if not self.color:
            return super().formatMessage(record)
        plain = record.levelname
        record.levelname = f"{_LEVEL_COLORS.get(record.levelno, '')}{plain}{_RESET}"
        record.asctime = f"{_DIM}{record.asctime}{_RESET}"
        try:
            return super().formatMessage(record)
        finally:
            record.levelname = plain


def configure(debug: bool = False, stream: IO[str] | None = None, json: bool = False) -> None:
    """Send ``necktie.*`` records to stderr, unless the application has configured logging itself.

    With *json* (``LOG_FORMAT=json``) every record goes out as a JSON line (`pynecktie.logformat`).
    """
    if json:
        configure_json(debug, stream)
        return
    base = logging.getLogger("necktie")
    if logging.getLogger().handlers or base.handlers:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(Formatter(use_color(handler.stream)))
    base.addHandler(handler)
    base.setLevel(logging.DEBUG if debug else logging.INFO)
    base.propagate = False
