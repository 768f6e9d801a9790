"""The apps the fuzz targets serve (imported under atheris' instrumentation by the targets, plainly by
the tests)."""

from __future__ import annotations

from typing import Any

from fuzz_driver import FUZZ_CONFIG
from pynecktie import Necktie
from pynecktie.response import raw, stream

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
WS_ROUTES = ["/ws", "/ws-close", "/ws-raise", "/ws-push"]


def http_app() -> Necktie:
    """Echo, streaming both ways, a handler that answers before reading, raising handlers; 404 otherwise."""
    app = Necktie("fuzz-http1")
    app.config.update_config(FUZZ_CONFIG)

    async def echo(request: Any) -> Any:
        return raw(request.body, headers={"x-path": request.path})

    app.add_route(echo, "/", methods=METHODS, name="echo")

    @app.route("/echo", methods=METHODS, stream=True)
    async def echo_stream(request: Any) -> Any:
        async def write(response: Any) -> None:
            while (chunk := await request.stream.get()) is not None:
                await response.write(chunk)

        return stream(write)

    @app.post("/collect", stream=True)
    async def collect(request: Any) -> Any:
        return raw(await request.stream.read())

    @app.post("/ignore", stream=True)
    async def ignore(request: Any) -> Any:
        return raw(b"not read")

    @app.get("/download")
    async def download(request: Any) -> Any:
        async def write(response: Any) -> None:
            for i in range(6):
                await response.write(b"%d" % i * 4096)

        return stream(write)

    @app.route("/raise", methods=METHODS)
    async def fail(request: Any) -> Any:
        raise RuntimeError("a handler that fails")

    @app.get("/raise-mid")
    async def fail_mid(request: Any) -> Any:
        async def write(response: Any) -> None:
            await response.write(b"partial")
            raise RuntimeError("a stream that fails")

        return stream(write, headers={"content-length": "100"} if request.args.get("cl") else None)

    return app


def ws_app() -> Necktie:
    """WebSocket routes (`WS_ROUTES`): an echo, one that closes after a message, one that raises, one that
    only sends."""
    app = Necktie("fuzz-ws")
    app.config.update_config(FUZZ_CONFIG)

    @app.websocket("/ws")
    async def echo(request: Any, ws: Any) -> None:
        async for message in ws:
            await ws.send(message)

    @app.websocket("/ws-close")
    async def close_after_one(request: Any, ws: Any) -> None:
        await ws.send(await ws.receive())
        await ws.close(4000, "done")

    @app.websocket("/ws-raise")
    async def fail(request: Any, ws: Any) -> None:
        await ws.receive()
        raise RuntimeError("a websocket handler that fails")

    @app.websocket("/ws-push")
    async def push(request: Any, ws: Any) -> None:
        for i in range(8):
            await ws.send(b"%d" % i * 4096)
        await ws.receive()

    return app
