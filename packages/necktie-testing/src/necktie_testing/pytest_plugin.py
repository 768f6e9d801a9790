"""The pytest plugin (entry point ``pytest11``): fixtures built from an ``app`` fixture you define.

- ``necktie_server``: a `LiveServer` for ``app``, started once and shared for as long as the ``app``
  fixture's value lives (define ``app`` with ``scope="module"`` or ``"session"`` to share it widely).
- ``necktie_client``: a started `TestClient` on that server (one per test). With the ini option
  ``necktie_mode = memory`` or the marker ``@pytest.mark.necktie(mode="memory")`` it is an in-process
  client instead, started (listeners included) for the test alone.
- ``async_necktie_client``: an `AsyncTestClient` on that server for async tests (pytest-asyncio or anyio);
  its connections are opened on the test's own loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pynecktie import Necktie

from .client import AsyncTestClient, TestClient
from .live import LiveServer

_SERVERS = pytest.StashKey[dict[int, tuple[Necktie, LiveServer]]]()


def _scope_of(request: pytest.FixtureRequest, name: str) -> str:
    try:
        defs = request._fixturemanager.getfixturedefs(name, request.node)
        return defs[-1].scope if defs else "function"
    except Exception:  # pragma: no cover - pytest internals moved: share nothing rather than fail
        return "function"


def _add_finalizer(request: pytest.FixtureRequest, scope: str, fn: Callable[[], Any]) -> None:
    kinds: dict[str, type[pytest.Item] | type[pytest.Collector] | None] = {
        "class": pytest.Class,
        "module": pytest.Module,
        "package": pytest.Package,
        "session": None,
    }
    if scope == "function" or scope not in kinds:
        request.addfinalizer(fn)
        return
    node: Any = request.session
    kind = kinds[scope]
    if kind is not None:
        node = request.node.getparent(kind) or request.node.getparent(pytest.Module) or request.session
    node.addfinalizer(fn)


def pytest_addoption(parser: pytest.Parser) -> None:  # noqa: D103
    parser.addini(
        "necktie_mode", "how necktie_client serves the app: live (a real server) or memory", default="live"
    )


def pytest_configure(config: pytest.Config) -> None:  # noqa: D103
    config.addinivalue_line("markers", "necktie(mode): 'live' or 'memory' for this test's necktie_client")


def _mode(request: pytest.FixtureRequest) -> str:
    marker = request.node.get_closest_marker("necktie")
    mode = marker.kwargs.get("mode") if marker is not None else None
    mode = mode or request.config.getini("necktie_mode") or "live"
    if mode not in ("live", "memory"):
        raise pytest.UsageError(f"necktie mode must be 'live' or 'memory', not {mode!r}")
    return str(mode)


@pytest.fixture
def necktie_server(request: pytest.FixtureRequest) -> LiveServer:
    """A started `LiveServer` for the ``app`` fixture, reused while that fixture's value lives."""
    app = request.getfixturevalue("app")
    if not isinstance(app, Necktie):
        raise TypeError(f"the 'app' fixture must return a Necktie app, not {type(app).__name__}")
    servers = request.config.stash.setdefault(_SERVERS, {})
    entry = servers.get(id(app))
    if entry is not None and entry[0] is app and entry[1].started:
        return entry[1]
    server = LiveServer(app).start()
    servers[id(app)] = (app, server)

    def stop() -> None:
        servers.pop(id(app), None)
        server.stop()

    _add_finalizer(request, _scope_of(request, "app"), stop)
    return server


@pytest.fixture
def necktie_client(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    """A started `TestClient` talking to ``necktie_server`` (or in memory); closed after the test."""
    if _mode(request) == "memory":
        client = TestClient(request.getfixturevalue("app"), mode="memory")
    else:
        server: LiveServer = request.getfixturevalue("necktie_server")
        client = TestClient(server.app, server=server)
    with client:
        yield client


@pytest.fixture
def async_necktie_client(necktie_server: LiveServer) -> Iterator[AsyncTestClient]:
    """An `AsyncTestClient` talking to ``necktie_server``; use it with ``await`` in an async test."""
    client = AsyncTestClient(necktie_server.app, server=necktie_server)
    try:
        yield client  # it starts on its first request, on the test's loop; the shared server runs already
    finally:
        client.capture.uninstall()
