"""The apps the fuzz targets serve (imported under atheris' instrumentation by the targets, plainly by
the tests)."""

from __future__ import annotations

from typing import Any

from fuzz_driver import FUZZ_CONFIG
from pynecktie import Necktie
from pynecktie.response import raw, stream

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
WS_ROUTES = ["/ws", "/ws-close", "/ws-raise", "/ws-push"]


#: HTTP/2 on, with limits a few frames reach (added to `FUZZ_CONFIG` by `h2_app`).
FUZZ_H2_CONFIG: dict[str, Any] = {
    "HTTP2": True,
    "HTTP2_MAX_CONCURRENT_STREAMS": 8,
    "HTTP2_INITIAL_WINDOW_SIZE": 16384,
    "HTTP2_HEADER_TABLE_SIZE": 1024,
    "HTTP2_MAX_HEADER_BLOCK_SIZE": 8192,
    "HTTP2_MAX_CONTINUATION_FRAMES": 4,
    "HTTP2_MAX_RESETS": 20,
    "HTTP2_MAX_CONTROL_FRAMES": 100,
}


def http_app(name: str = "fuzz-http1", extra: dict[str, Any] | None = None) -> Necktie:
    """Echo, streaming both ways, a handler that answers before reading, raising handlers; 404 otherwise."""
    app = Necktie(name)
    app.config.update_config({**FUZZ_CONFIG, **(extra or {})})

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


def h2_app() -> Necktie:
    """`http_app`'s routes over HTTP/2 (cleartext by prior knowledge), with `FUZZ_H2_CONFIG`."""
    return http_app("fuzz-h2", FUZZ_H2_CONFIG)


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
