"""The server's log records, caught for a test and tied to the exchange they belong to.

The request pipeline logs an exception it turned into an error response (or that broke a streamed
body) on ``necktie.error`` with the `Request` attached as ``record.request``; the client's connection
port tells which exchange that request came from.
"""

from __future__ import annotations

import logging
import threading

SERVER_LOGGER = "necktie"
_FORMAT = logging.Formatter("%(levelname)s %(name)s: %(message)s")


class LogCapture(logging.Handler):
    """Collects every record of the ``necktie`` loggers while installed."""

    def __init__(self, level: int | None = None) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[logging.LogRecord] = []
        self.level_while_installed = level
        self._saved_level: int | None = None
        self._guard = threading.Lock()
        self._installed = False

    def emit(self, record: logging.LogRecord) -> None:  # noqa: D102
        with self._guard:
            self.records.append(record)

    def install(self) -> None:
        """Start capturing."""
        if not self._installed:
            logger = logging.getLogger(SERVER_LOGGER)
            logger.addHandler(self)
            if self.level_while_installed is not None:
                self._saved_level = logger.level
                logger.setLevel(self.level_while_installed)
            self._installed = True

    def uninstall(self) -> None:
        """Stop capturing (what was caught stays available)."""
        if self._installed:
            logger = logging.getLogger(SERVER_LOGGER)
            logger.removeHandler(self)
            if self._saved_level is not None:
                logger.setLevel(self._saved_level)
                self._saved_level = None
            self._installed = False

    @property
    def lines(self) -> list[str]:
        """Every captured record as ``LEVEL logger: message``."""
        return [format_record(r) for r in self.snapshot()]

    def snapshot(self, start: int = 0, end: int | None = None) -> list[logging.LogRecord]:
        """The records captured between two positions."""
        with self._guard:
            return self.records[start:end]

    def mark(self) -> int:
        """A position in the records, to find later what was logged after it."""
        with self._guard:
            return len(self.records)


def format_record(record: logging.LogRecord) -> str:
    """A record as one ``LEVEL logger: message`` line."""
    return _FORMAT.format(record).split("\n", 1)[0]


class ExchangeLog:
    """The records of one exchange: logged between its start and end for a request from its port."""

    def __init__(self, capture: LogCapture | None, port: int) -> None:
        self.capture = capture
        self.port = port
        self.start = capture.mark() if capture is not None else 0
        self.end: int | None = None

    def finish(self) -> None:
        """The response has ended: later records belong to someone else."""
        if self.end is None and self.capture is not None:
            self.end = self.capture.mark()

    def records(self) -> list[logging.LogRecord]:
        """The records whose request came from this exchange's connection."""
        if self.capture is None:
            return []
        mine = []
        for record in self.capture.snapshot(self.start, self.end):
            request = getattr(record, "request", None)
            if request is not None and getattr(request, "port", None) == self.port:
                mine.append(record)
        return mine

    def exception(self) -> BaseException | None:
        """The first exception logged for this exchange's request."""
        for record in self.records():
            if record.exc_info and record.exc_info[1] is not None:
                return record.exc_info[1]
        return None
