"""``--reload``: watch directories for changed Python files (with watchfiles) in a background thread."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable

from .errors import StartupError

logger = logging.getLogger("necktie.root")


class Watcher:
    """Collects the paths of ``.py`` files changed under *dirs*; ``take_changes`` hands them over."""

    def __init__(self, dirs: Iterable[str]) -> None:
        try:
            import watchfiles
        except ImportError:  # pragma: no cover - a dependency of necktie-server
            raise StartupError("--reload needs the watchfiles package: pip install watchfiles") from None
        self._watchfiles = watchfiles
        self.dirs = [os.path.abspath(d) for d in dirs]
        for path in self.dirs:
            if not os.path.isdir(path):
                raise StartupError(f"cannot watch {path!r} for --reload: not a directory")
        self._changes: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, notify: Callable[[], None]) -> None:
        """Watch in a daemon thread, calling *notify* (from that thread) after each batch of changes."""
        self._thread = threading.Thread(
            target=self._watch, args=(notify,), name="necktie-reload", daemon=True
        )
        self._thread.start()

    def _watch(self, notify: Callable[[], None]) -> None:
        watchfiles = self._watchfiles
        try:
            for changes in watchfiles.watch(
                *self.dirs,
                watch_filter=watchfiles.PythonFilter(),
                stop_event=self._stop,
                raise_interrupt=False,
                rust_timeout=1000,
                yield_on_timeout=False,
            ):
                with self._lock:
                    self._changes.update(path for _, path in changes)
                notify()
        except Exception as exc:  # the server keeps running without reloads rather than dying
            logger.error("The --reload watcher stopped: %s", exc)

    def take_changes(self) -> set[str]:
        """The changed paths since the last call (empty when none)."""
        with self._lock:
            changes, self._changes = self._changes, set()
        return changes

    def stop(self) -> None:
        """Stop watching and wait (briefly) for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
