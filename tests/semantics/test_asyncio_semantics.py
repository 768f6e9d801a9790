"""A handler is plain asyncio code: its own task, its own context, timeouts that work — whatever the fast
path does."""

from __future__ import annotations

import asyncio
import contextvars

import orjson
import pytest
from necktie_testing import TestClient
from pynecktie import Necktie
from pynecktie.response import json, stream

request_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_var", default="unset")
middleware_var: contextvars.ContextVar[str] = contextvars.ContextVar("middleware_var", default="unset")


def make_app() -> Necktie:
    app = Necktie("semantics")
    tasks: list[asyncio.Task] = []
    app.ctx.tasks = tasks

    @app.on_request
    async def mark(request):
        middleware_var.set(f"mw:{request.path}")

    @app.on_response
    async def echo_var(request, response):
        response.headers["x-middleware-var"] = middleware_var.get()

    @app.get("/task")
    async def task(request):
        current = asyncio.current_task()
        tasks.append(current)
        return json({"has_task": current is not None, "name_is_str": isinstance(current.get_name(), str)})

    @app.get("/set/<value>")
    async def set_value(request, value):
        seen = request_var.get()
        request_var.set(value)
        return json({"seen_before_set": seen, "middleware": middleware_var.get()})

    @app.get("/timeout")
    async def timeout(request):
        try:
            async with asyncio.timeout(0.05):
                await asyncio.sleep(30)
        except TimeoutError:
            timed_out = True
        else:
            timed_out = False
        waited = False
        try:
            await asyncio.wait_for(asyncio.sleep(30), 0.05)
        except TimeoutError:
            waited = True
        cancelling = asyncio.current_task().cancelling()
        return json({"timeout": timed_out, "wait_for": waited, "cancelling": cancelling})

    @app.get("/streamed-task")
    async def streamed_task(request):
        outer = asyncio.current_task()

        async def body(response):
            inner = asyncio.current_task()
            await response.write("same" if inner is outer else "different")

        return stream(body)

    return app


@pytest.fixture(scope="module")
def client():
    with TestClient(make_app()) as client:
        yield client


def test_each_request_runs_in_a_task_of_its_own(client):
    app = client.app
    first = client.get("/task").json()
    second = client.get("/task").json()
    assert first == second == {"has_task": True, "name_is_str": True}
    assert len(app.ctx.tasks) == 2 and app.ctx.tasks[0] is not app.ctx.tasks[1]


def test_context_variables_never_leak_to_the_next_request_on_a_connection(client):
    # One httpx client keeps one keep-alive connection: the requests follow each other on it.
    answers = [client.get(f"/set/v{i}").json() for i in range(5)]
    assert [a["seen_before_set"] for a in answers] == ["unset"] * 5


def test_request_middleware_context_reaches_handler_and_response_middleware(client):
    response = client.get("/set/x")
    assert response.json()["middleware"] == "mw:/set/x"
    assert response.headers["x-middleware-var"] == "mw:/set/x"


def test_asyncio_timeout_and_wait_for_work_inside_a_handler(client):
    assert client.get("/timeout").json() == {"timeout": True, "wait_for": True, "cancelling": 0}


def test_streaming_function_runs_in_the_handlers_task(client):
    assert client.get("/streamed-task").text == "same"


def test_no_context_leak_between_requests_on_one_raw_connection():
    from necktie_testing import LiveServer

    with LiveServer(make_app()) as server, server.raw() as conn:
        seen = []
        for value in ("a", "b", "c"):
            conn.send(f"GET /set/{value} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            seen.append(orjson.loads(conn.read_response().body)["seen_before_set"])
        # And pipelined: three requests in one write, still one connection.
        conn.send(b"".join(f"GET /set/p{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for i in range(3)))
        seen += [orjson.loads(conn.read_response().body)["seen_before_set"] for _ in range(3)]
    assert seen == ["unset"] * 6


def test_a_handler_that_never_waits_still_runs_in_a_task_of_its_own():
    """On Python 3.12+ such a handler's task runs its first step at once (necktie_server.eager) and ends
    there; it is still a task of its own, with its own context, for each request on the connection."""
    from necktie_testing import LiveServer

    app = Necktie("never-waits")
    tasks: list[object] = []

    @app.get("/")
    def index(request):  # a plain function: nothing is awaited anywhere on the way
        tasks.append(asyncio.current_task())
        seen = request_var.get()
        request_var.set("set")
        return json({"seen_before_set": seen})

    with LiveServer(app) as server, server.raw() as conn:
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 3)  # pipelined: parsed in one read
        seen = [orjson.loads(conn.read_response().body)["seen_before_set"] for _ in range(3)]
    assert seen == ["unset"] * 3
    assert len(tasks) == 3 and None not in tasks and len({id(t) for t in tasks}) == 3


def test_an_applications_task_factory_makes_the_handlers_tasks():
    """No speed-up goes around the application's own task factory (eager starts are not made then)."""
    from necktie_testing import LiveServer

    app = Necktie("task-factory")
    made: list[asyncio.Task] = []

    @app.before_server_start
    def install(app, loop):
        def factory(loop, coro, **kwargs):
            task = asyncio.Task(coro, loop=loop, **kwargs)
            made.append(task)
            return task

        loop.set_task_factory(factory)

    @app.get("/")
    async def index(request):
        return json({"made_by_the_factory": any(t is asyncio.current_task() for t in made)})

    with LiveServer(app) as server, server.raw() as conn:
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert orjson.loads(conn.read_response().body) == {"made_by_the_factory": True}
