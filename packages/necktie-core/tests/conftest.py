"""Core tests drive the real pipeline (`Necktie.match` + `Necktie.handle`) with an in-memory sink."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from pynecktie import Necktie
from pynecktie.headers import Headers
from pynecktie.request import ConnInfo, Request


class ListSource:
    """A BodySource handing out fixed chunks."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)

    async def receive(self) -> bytes | None:
        return self.chunks.pop(0) if self.chunks else None


@dataclass
class Result:
    """What a FakeSink received."""

    status: int = 0
    headers: Headers = field(default_factory=Headers)
    content_type: str | None = None
    body: bytes = b""
    streamed: bool = False
    aborted: bool = False
    ended: bool = False
    response: Any = None
    request: Any = None

    @property
    def text(self) -> str:
        return self.body.decode()


class FakeSink:
    """A ResponseSink that records everything (it has no send_file: files go through the chunked fallback)."""

    def __init__(self) -> None:
        self.result = Result()
        self._started = False

    @property
    def started(self) -> bool:
        return self._started

    def _head(self, response: Any) -> None:
        assert not self._started, "two responses for one request"
        self._started = True
        self.result.status = response.status
        self.result.headers = response.headers
        self.result.content_type = response.content_type
        self.result.response = response

    async def send(self, response: Any, body: bytes) -> None:
        self._head(response)
        self.result.body = body
        self.result.ended = True

    async def start(self, response: Any) -> None:
        self._head(response)
        self.result.streamed = True

    def write(self, data: bytes) -> asyncio.Future[None]:
        assert self._started and not self.result.ended
        self.result.body += data
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def end(self) -> None:
        self.result.ended = True

    def abort(self) -> None:
        self.result.aborted = True


async def run_request(app: Necktie, method: str, target: str,
                      headers: dict[str, str] | list[tuple[str, str]] | None = None,
               body: bytes = b"", chunks: list[bytes] | None = None, conn: ConnInfo | None = None) -> Result:
    """Run one request through *app*'s pipeline and return what the sink received."""
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    if not any(k.lower() == "host" for k, _ in pairs):
        pairs.insert(0, ("Host", "example.com"))
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs]
    conn = conn or ConnInfo("10.0.0.1", 5555, "10.0.0.2", 80)
    request = Request(app, method, target.encode("latin-1"), "1.1", raw, conn)
    route = app.match(request)
    if route is not None and route.stream:
        request.stream = app.make_stream(request, ListSource(chunks if chunks is not None else [body]))
    else:
        request.body = body if chunks is None else b"".join(chunks)
    sink = FakeSink()
    await app.handle(request, sink)
    sink.result.request = request
    return sink.result


@pytest.fixture
def app() -> Necktie:
    return Necktie("test")


@pytest.fixture
def call():
    """``await call(app, method, target, headers=..., body=...)`` → `Result`."""
    return run_request
