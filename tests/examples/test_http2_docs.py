"""docs/http2.md's examples, as real tests of examples/http2.py over loopback (the page quotes both): httpx
speaks HTTP/2 to it in cleartext, by prior knowledge, and many streams share one connection."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path

import httpx
from necktie_testing import LiveServer

ROOT = Path(__file__).resolve().parents[2]


def load_app():
    path = ROOT / "examples" / "http2.py"
    spec = importlib.util.spec_from_file_location("docs_example_http2", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.app


# -- a request over HTTP/2 --
def test_the_version_route_answers_over_http2():
    with LiveServer(load_app()) as server:
        with httpx.Client(http1=False, http2=True) as client:  # cleartext: prior knowledge
            response = client.get(f"{server.url}/version")
        assert response.http_version == "HTTP/2"
        assert response.text == f"HTTP/2 for 127.0.0.1:{server.port}"


# -- twenty event streams on one connection --
def test_twenty_event_streams_share_one_connection():
    async def main(url):
        one_connection = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(http1=False, http2=True, limits=one_connection) as client:

            async def events():
                async with client.stream("GET", f"{url}/ticks") as response:
                    return [line async for line in response.aiter_lines() if line.startswith("data:")]

            return await asyncio.gather(*(events() for _ in range(20)))

    with LiveServer(load_app()) as server:
        streams = asyncio.run(main(server.url))
    assert streams == [["data: tick 0", "data: tick 1", "data: tick 2"]] * 20


# -- a body streamed both ways --
def test_the_upload_is_answered_as_it_arrives():
    def pieces():
        yield b"hello, "
        yield b"http/2"

    with LiveServer(load_app()) as server:
        with httpx.Client(http1=False, http2=True) as client:
            response = client.post(f"{server.url}/upper", content=pieces())
    assert response.text == "HELLO, HTTP/2"
