"""``necktie --simple DIR``: an app that serves the files of one directory (``index.html`` for ``/``)."""

from __future__ import annotations

from pathlib import Path

from pynecktie import Necktie

from .errors import StartupError


def simple_app(directory: str) -> Necktie:
    """A Necktie app serving *directory* at ``/`` with ``app.static`` (no directory listings)."""
    root = Path(directory).resolve()
    if not root.is_dir():
        raise StartupError(f"--simple: {directory!r} is not a directory")
    app = Necktie("simple")
    app.static("/", str(root), index="index.html")
    return app
