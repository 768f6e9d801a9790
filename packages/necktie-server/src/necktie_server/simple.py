"""``necktie --simple DIR``: an app that serves the files of one directory (index.html for directories)."""

from __future__ import annotations

import asyncio
import mimetypes
from pathlib import Path
from typing import Any

from pynecktie import Necktie
from pynecktie.exceptions import NotFound
from pynecktie.request import Request
from pynecktie.response import HTTPResponse, raw

from .errors import StartupError


def simple_app(directory: str) -> Necktie:
    """A Necktie app serving *directory* at ``/``, through ``app.static`` where the core has it."""
    root = Path(directory).resolve()
    if not root.is_dir():
        raise StartupError(f"--simple: {directory!r} is not a directory")
    app = Necktie("simple")
    static: Any = getattr(app, "static", None)
    if static is not None:
        static("/", str(root), index="index.html")
        return app

    # Until the core has app.static: a plain GET handler that refuses anything outside the root.
    async def serve_file(request: Request, path: str = "") -> HTTPResponse:
        target = (root / path).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(root) or not target.is_file():
            raise NotFound(f"Requested URL {request.path} not found")
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return raw(await asyncio.to_thread(target.read_bytes), content_type=content_type)

    app.add_route(serve_file, "/", methods=["GET", "HEAD"], name="index")
    app.add_route(serve_file, "/<path:path>", methods=["GET", "HEAD"], name="file")
    return app

