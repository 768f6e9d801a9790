"""The app the wire and protocol cases are served by: echo routes that record each call, and a streaming
route."""

from __future__ import annotations

import threading
from typing import Any

from pynecktie import Necktie
from pynecktie.response import raw

#: Limits the catalogue's cases are written against (see RELIABILITY.md, "Test limits").
WIRE_CONFIG: dict[str, Any] = {
    "REQUEST_MAX_LINE_SIZE": 8192,
    "REQUEST_MAX_HEADER_SIZE": 16384,
    "REQUEST_MAX_HEADERS": 100,
    "REQUEST_MAX_SIZE": 1 << 20,
    "REQUEST_MAX_CHUNK_EXTENSION_SIZE": 4096,
    "REQUEST_TIMEOUT": 3.0,
    "REQUEST_BODY_TIMEOUT": 3.0,
    "KEEP_ALIVE_TIMEOUT": 5.0,
    "ACCESS_LOG": False,
}


class Calls:
    """Which handlers ran, in order (handlers run on the server's thread; tests read from theirs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[str] = []

    def add(self, item: str) -> None:
        """Record a call."""
        with self._lock:
            self._items.append(item)

    def take(self) -> list[str]:
        """The calls so far, forgetting them."""
        with self._lock:
            items, self._items = self._items, []
        return items


def make_app(**config: Any) -> tuple[Necktie, Calls]:
    """An echo app with the wire limits (overridden by *config*) and its call record."""
    app = Necktie("wire")
    app.config.update_config({**WIRE_CONFIG, **config})
    calls = Calls()
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]

    async def echo(request: Any) -> Any:
        calls.add(request.path)
        seen_x = [v.hex() for k, v in request.raw_headers if k.lower() == b"x"]
        return raw(request.body, headers={
            "x-path": request.path, "x-host": request.host, "x-method": request.method,
            "x-query": request.query_string, "x-raw-x": ",".join(seen_x),
        })

    for path in ("/", "/x", "/2", "/next", "/smuggled"):
        app.add_route(echo, path, methods=methods, name=f"echo{path.replace('/', '_')}")

    @app.post("/stream", stream=True)
    async def stream(request: Any) -> Any:
        calls.add("/stream")
        parts = []
        while (chunk := await request.stream.get()) is not None:
            parts.append(chunk)
        return raw(b"".join(parts))

    @app.get("/cookies")
    async def cookies(request: Any) -> Any:
        calls.add("/cookies")
        return raw(str(len(request.cookies)).encode())

    @app.get("/args")
    async def args(request: Any) -> Any:
        calls.add("/args")
        return raw(repr(sorted(request.args.items())).encode())

    return app, calls
