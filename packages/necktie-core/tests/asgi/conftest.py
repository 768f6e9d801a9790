"""A scripted ASGI server: the tests push ``receive`` messages and read what the app ``send``s, no sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

Message = dict[str, Any]


def http_scope(method: str = "GET", path: str = "/", *, query: bytes = b"",
               headers: list[tuple[bytes, bytes]] | None = None, **extra: Any) -> dict[str, Any]:
    """An ``http`` scope as uvicorn builds one."""
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
        "method": method, "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
        "root_path": "", "headers": headers if headers is not None else [(b"host", b"example.test")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }
    scope.update(extra)
    return scope


class Scripted:
    """Drives ``app(scope, receive, send)`` as a task: ``push`` feeds ``receive``, ``sent`` collects ``send``.

    ``receive_calls`` counts how often the app asked for a message, so tests can see it never reads ahead.
    ``send_gate``, when set, makes each body ``send`` wait until the test releases it.
    """

    def __init__(self, app: Any, scope: dict[str, Any]) -> None:
        self.app = app
        self.scope = scope
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.sent: list[Message] = []
        self.receive_calls = 0
        self.send_gate: asyncio.Event | None = None
        self.send_error: BaseException | None = None
        self._changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    # -- the server's side ----------------------------------------------------------------------------
    async def receive(self) -> Message:
        self.receive_calls += 1
        self._changed.set()
        return await self.inbox.get()

    async def send(self, message: Message) -> None:
        if self.send_error is not None and message["type"] == "http.response.body":
            raise self.send_error
        if self.send_gate is not None and message["type"] == "http.response.body":
            await self.send_gate.wait()
        self.sent.append(message)
        self._changed.set()

    # -- the test's side ------------------------------------------------------------------------------
    def start(self) -> Scripted:
        self.task = asyncio.get_running_loop().create_task(self.app(self.scope, self.receive, self.send))
        return self

    def push(self, body: bytes = b"", more: bool = False) -> None:
        self.inbox.put_nowait({"type": "http.request", "body": body, "more_body": more})

    def disconnect(self) -> None:
        self.inbox.put_nowait({"type": "http.disconnect"})

    async def until(self, predicate: Any, timeout: float = 10.0) -> None:
        """Wait until *predicate()* holds (checked whenever the app receives or sends)."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def finish(self, timeout: float = 10.0) -> None:
        """Wait for the app call to return (re-raising what it raised)."""
        assert self.task is not None
        async with asyncio.timeout(timeout):
            await self.task

    # -- reading the response -------------------------------------------------------------------------
    @property
    def start_message(self) -> Message:
        return next(m for m in self.sent if m["type"] == "http.response.start")

    @property
    def status(self) -> int:
        return self.start_message["status"]

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.start_message["headers"])

    @property
    def bodies(self) -> list[Message]:
        return [m for m in self.sent if m["type"] == "http.response.body"]

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.bodies)

    @property
    def complete(self) -> bool:
        bodies = self.bodies
        return bool(bodies) and not bodies[-1].get("more_body", False)


@pytest.fixture
def scripted():
    """``scripted(app, scope)`` → a started `Scripted` exchange."""
    def make(app: Any, scope: dict[str, Any]) -> Scripted:
        return Scripted(app, scope).start()
    return make


async def call(app: Any, scope: dict[str, Any], body: bytes | list[bytes] = b"") -> Scripted:
    """One complete exchange: the body is pushed up front, then the app runs to its end."""
    exchange = Scripted(app, scope)
    chunks = body if isinstance(body, list) else [body]
    for i, chunk in enumerate(chunks):
        exchange.push(chunk, more=i < len(chunks) - 1)
    exchange.start()
    await exchange.finish()
    return exchange


@pytest.fixture
def asgi_call():
    """``await asgi_call(app, scope, body)`` → the finished `Scripted` exchange."""
    return call


@pytest.fixture
def scope():
    """``scope(method, path, ...)`` → an http scope."""
    return http_scope
