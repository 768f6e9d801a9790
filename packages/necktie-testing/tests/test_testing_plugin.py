"""The pytest plugin, used from a fresh project that only has necktie-testing installed."""

from __future__ import annotations

import pytest

PROJECT = '''
import pytest
from pynecktie import Necktie
from pynecktie.response import stream, text

STARTS = []


@pytest.fixture(scope="module")
def app():
    app = Necktie("fresh")

    @app.listener("before_server_start")
    def started(app):
        STARTS.append(1)

    @app.get("/")
    async def index(request):
        return text("hi from the app")

    @app.get("/boom")
    async def boom(request):
        raise RuntimeError("boom")

    @app.post("/upper", stream=True)
    async def upper(request):
        async def body(response):
            while (chunk := await request.stream.get()) is not None:
                await response.write(chunk.upper())
        return stream(body)

    return app


def test_client(necktie_client):
    assert necktie_client.get("/").text == "hi from the app"
    response = necktie_client.get("/boom")
    assert response.status_code == 500
    assert isinstance(response.request_handler_exception, RuntimeError)


def test_duplex(necktie_client):
    with necktie_client.duplex("POST", "/upper") as duplex:
        duplex.send("abc")
        assert duplex.receive_until("ABC") == b"ABC"


def test_server_is_shared_across_the_module(necktie_server, necktie_client):
    assert necktie_client.get("/").status_code == 200
    assert STARTS == [1]
    with necktie_server.raw() as raw:
        raw.send(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
        assert raw.read_response().body == b"hi from the app"


@pytest.mark.asyncio
async def test_async_client(async_necktie_client):
    response = await async_necktie_client.get("/")
    assert response.text == "hi from the app"
    async def body():
        yield b"x"
        yield b"y"
    assert (await async_necktie_client.post("/upper", content=body())).text == "XY"


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_async_client_under_anyio(async_necktie_client):
    assert (await async_necktie_client.get("/")).text == "hi from the app"
'''


MEMORY_PROJECT = '''
import pytest
from pynecktie import Necktie
from pynecktie.response import text

EVENTS = []


@pytest.fixture
def app():
    app = Necktie("fresh_memory")

    @app.listener("after_server_start")
    def started(app):
        EVENTS.append("start")

    @app.listener("after_server_stop")
    def stopped(app):
        EVENTS.append("stop")

    @app.get("/")
    async def index(request):
        return text(request.ip)

    return app


@pytest.mark.necktie(mode="memory")
def test_memory(necktie_client):
    assert necktie_client.mode == "memory"
    assert necktie_client.get("/").text == "127.0.0.1"
    assert EVENTS == ["start"]


def test_live_by_default(necktie_client, necktie_server):
    assert necktie_client.mode == "live" and necktie_client.live is necktie_server
    assert necktie_client.get("/").text == "127.0.0.1"


def test_listeners_ran_around_each_function_scoped_app():
    assert EVENTS == ["start", "stop", "start", "stop"]
'''


def test_the_plugin_is_registered_by_its_entry_point() -> None:
    from importlib.metadata import entry_points

    (entry,) = [ep for ep in entry_points(group="pytest11") if ep.value == "necktie_testing.pytest_plugin"]
    assert entry.dist is not None and entry.dist.name == "necktie-testing"


def test_fixtures_work_in_a_fresh_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fresh=PROJECT, test_fresh_memory=MEMORY_PROJECT)
    # A subprocess with its own rootdir and no conftest: the fixtures come from the pytest11 entry point.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", "-v")
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["*test_fresh.py::test_async_client_under_anyio PASSED*",
                                 "*test_fresh_memory.py::test_memory PASSED*"])
