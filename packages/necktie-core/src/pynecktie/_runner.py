"""The one place `pynecktie` reaches `necktie_server`: imported lazily, so core stays free of I/O."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import Necktie


class ServerNotInstalled(RuntimeError):
    """``Necktie.run()`` was called without the server package installed."""


def run(app: Necktie, **options: Any) -> None:
    """Serve *app* with necktie-server, blocking until SIGINT or SIGTERM.

    A problem the user must fix (port in use, bad setting, unreadable certificate...) ends the program
    with one line on stderr and exit status 1, as the ``necktie`` command does.
    """
    try:
        from necktie_server import StartupError, serve
    except ImportError as exc:
        if exc.name not in ("necktie_server", "httptools", "uvloop"):
            raise
        raise ServerNotInstalled(
            f"Necktie.run() needs the server: pip install necktie-server (could not import {exc.name})"
        ) from None
    try:
        serve(app, **options)
    except StartupError as exc:
        print(f"necktie: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
