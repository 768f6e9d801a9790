"""HTTP/2 streams on one connection over loopback: each a request of its own with its own back-pressure.

100 concurrent streams (half uploading, half downloading) checked byte for byte through httpx; then, frame
by frame with a raw `h2` client (`nt_h2`): a handler that does not read holds back its own stream's window
only, and a stream the client resets cancels its own handler only.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import threading
import time

import httpx
import pytest
from necktie_testing import LiveServer
from nt_h2 import H2Client
from pynecktie import Necktie
from pynecktie.response import stream, text

KiB = 1 << 10
seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="")


def pattern(seed: int, size: int) -> bytes:
    """*size* bytes that differ per *seed* (so a stream given another's bytes is caught)."""
    block = hashlib.sha256(b"%d" % seed).digest() * 32  # 1 KiB
    return (block * (size // len(block) + 1))[:size]


def build_app() -> tuple[Necktie, dict]:
    app = Necktie("h2streams")
    app.config.update_config({"HTTP2": True, "RESPONSE_TIMEOUT": 0})
    state: dict = {"ports": set(), "release": threading.Event(), "cancelled": [], "finished": [],
                   "started": [], "held": threading.Event()}

    @app.post("/echo", stream=True)
    async def echo(request):
        state["ports"].add(request.conn_info.client_port)

        async def body(response):
            async for chunk in request.stream:
                await response.write(chunk)

        return stream(body, content_type="application/octet-stream")

    @app.get("/download/<seed:int>/<size:int>")
    async def download(request, seed: int, size: int):
        state["ports"].add(request.conn_info.client_port)
        data = pattern(seed, size)

        async def body(response):
            for start in range(0, size, 7 * KiB):  # an odd chunk size: frames and chunks never line up
                await response.write(data[start : start + 7 * KiB])

        return stream(body, content_type="application/octet-stream")

    @app.post("/count", stream=True)
    async def count(request):
        total = 0
        async for chunk in request.stream:
            total += len(chunk)
        return text(str(total))

    @app.post("/hold", stream=True)
    async def hold(request):
        """Never reads its body: waits until the test releases it."""
        state["held"].set()
        while not state["release"].is_set():
            await asyncio.sleep(0.02)
        return text("released")

    @app.get("/wait/<name>")
    async def wait(request, name: str):
        state["started"].append(name)
        try:
            while not state["release"].is_set():
                await asyncio.sleep(0.02)
        except asyncio.CancelledError:
            state["cancelled"].append(name)
            raise
        state["finished"].append(name)
        return text(name)

    @app.get("/ok")
    async def ok(request):
        return text("ok")

    @app.get("/context/<name>")
    async def context(request, name: str):
        before = seen.get()
        seen.set(name)
        await asyncio.sleep(0.05)  # the other streams run meanwhile
        return text(f"{before}|{seen.get()}")

    return app, state


@pytest.fixture
def served():
    app, state = build_app()
    with LiveServer(app) as server:
        yield server, state


def test_100_streams_on_one_connection_half_up_half_down_byte_for_byte(served):
    server, state = served
    size = 96 * KiB  # more than a stream's window (64 KiB): every stream waits on flow control both ways

    async def upload(client: httpx.AsyncClient, seed: int) -> None:
        data = pattern(seed, size)

        async def chunks():
            for start in range(0, size, 5 * KiB):
                yield data[start : start + 5 * KiB]

        response = await client.post("/echo", content=chunks())
        assert response.http_version == "HTTP/2"
        assert response.content == data, seed

    async def download(client: httpx.AsyncClient, seed: int) -> None:
        response = await client.get(f"/download/{seed}/{size}")
        assert response.http_version == "HTTP/2"
        assert response.content == pattern(seed, size), seed

    async def main() -> None:
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=server.url, http1=False, http2=True, limits=limits,
                                     timeout=60) as client:
            await asyncio.gather(*(upload(client, n) if n % 2 else download(client, n) for n in range(100)))

    asyncio.run(main())
    assert len(state["ports"]) == 1  # one connection carried them all


def test_a_handler_that_does_not_read_holds_back_its_own_stream_only(served):
    server, state = served
    with H2Client(server.port) as client:
        held = client.request("POST", "/hold", end=False)
        client.until(state["held"].is_set)
        client.send(held, b"x" * 65535)  # the whole of the stream's window
        client.pump()
        # The others go on: a body of four windows' worth is read and counted, and a GET answered.
        counted = client.request("POST", "/count", end=False)
        body = b"y" * (4 * 65535)
        sent = 0
        while sent < len(body):
            window = client.conn.local_flow_control_window(counted)
            if window:
                client.send(counted, body[sent : sent + window])
                sent += min(window, len(body) - sent)
            else:
                client.pump()
        client.send(counted, b"", end=True)
        ok = client.request("GET", "/ok")
        client.until(lambda: client.ended(counted) and client.ended(ok))
        assert client.body(counted) == b"%d" % len(body)
        assert client.body(ok) == b"ok"
        # The held stream's window stayed shut: its handler read nothing, so nothing was given back.
        assert client.conn.local_flow_control_window(held) == 0
        assert not client.ended(held)
        state["release"].set()
        client.until(lambda: client.ended(held))
        assert client.body(held) == b"released"


def test_a_reset_stream_cancels_its_own_handler_only(served):
    server, state = served
    with H2Client(server.port) as client:
        first = client.request("GET", "/wait/first")
        second = client.request("GET", "/wait/second")
        client.pump()
        # Both handlers running first: a reset read together with its request cancels a task that never ran.
        deadline = time.monotonic() + 20
        while len(state["started"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted(state["started"]) == ["first", "second"]
        client.reset(first)
        client.until(lambda: state["cancelled"])
        assert state["cancelled"] == ["first"]
        state["release"].set()
        client.until(lambda: client.ended(second))
        assert client.body(second) == b"second"
        assert state["finished"] == ["second"]
        assert client.goaway() is None  # the connection is still fine
        ok = client.request("GET", "/ok")
        client.until(lambda: client.ended(ok))
        assert client.status(ok) == 200


def test_each_stream_runs_in_a_context_of_its_own(served):
    server, _ = served
    with H2Client(server.port) as client:
        streams = {name: client.request("GET", f"/context/{name}") for name in ("a", "b", "c")}
        client.until(lambda: all(client.ended(sid) for sid in streams.values()))
        assert {name: client.body(sid) for name, sid in streams.items()} == {
            "a": b"|a", "b": b"|b", "c": b"|c"}
