"""The one place `pynecktie` reaches `necktie_server`: imported lazily, so core stays free of I/O."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import Necktie


class ServerNotInstalled(RuntimeError):
    """``Necktie.run()`` was called without the server package installed."""


def run(app: Necktie, **options: Any) -> None:
    """Serve *app* with necktie-server, blocking until SIGINT or SIGTERM."""
    try:
        from necktie_server import serve
    except ImportError as exc:
        if exc.name not in ("necktie_server", "httptools", "uvloop"):
            raise
        raise ServerNotInstalled(
            "Necktie.run() needs the server: pip install necktie-server "
            f"(could not import {exc.name})"
        ) from None
    serve(app, **options)
