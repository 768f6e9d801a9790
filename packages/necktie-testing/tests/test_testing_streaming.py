"""Streaming both ways: bodies reach the handler chunk by chunk, answers arrive while the handler runs."""

from __future__ import annotations

import asyncio
import time

import pytest
from necktie_testing import AsyncTestClient, TestClient
from testing_apps import Probe, make_app

MODES = ["live", "memory"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def probe() -> Probe:
    return Probe()


async def test_async_generator_upload_reaches_the_handler_chunk_by_chunk(mode, probe):
    async def body():
        for i, piece in enumerate([b"one", b"two", b"three"]):
            # The next chunk is produced only once the handler has taken the previous one: a client that
            # buffered the whole body first would never get past this point.
            deadline = time.monotonic() + 30
            while len(probe.chunks) < i and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            assert len(probe.chunks) == i, "the handler did not receive the previous chunk on its own"
            yield piece

    async with AsyncTestClient(make_app(probe), mode=mode) as client:
        response = await client.post("/chunks", content=body())
    assert response.status_code == 200
    assert response.json() == ["one", "two", "three"]
    assert probe.chunks == [b"one", b"two", b"three"]


def test_sync_generator_upload_reaches_the_handler_chunk_by_chunk(mode, probe):
    def body():
        for i, piece in enumerate([b"a", b"bb", b"ccc"]):
            deadline = time.monotonic() + 30
            while len(probe.chunks) < i and time.monotonic() < deadline:
                time.sleep(0.005)
            yield piece

    with TestClient(make_app(probe), mode=mode) as client:
        assert client.post("/chunks", content=body()).json() == ["a", "bb", "ccc"]


def test_async_generator_through_the_sync_client(mode, probe):
    async def body():
        yield b"x"
        yield "y"

    with TestClient(make_app(probe), mode=mode) as client:
        assert client.post("/chunks", content=body()).json() == ["x", "y"]


def test_first_chunk_is_read_before_the_handler_finishes(mode, probe):
    with TestClient(make_app(probe), mode=mode) as client, client.stream("GET", "/slow-stream") as response:
        chunks = response.iter_bytes()
        assert next(chunks) == b"first"
        assert not probe.finished.is_set()
        probe.release.set()
        assert b"".join(chunks) == b"second"
    assert probe.finished.wait(10)


async def test_async_first_chunk_is_read_before_the_handler_finishes(mode, probe):
    async with AsyncTestClient(make_app(probe), mode=mode) as client:
        async with client.stream("GET", "/slow-stream") as response:
            chunks = response.aiter_bytes()
            assert await chunks.__anext__() == b"first"
            assert not probe.finished.is_set()
            probe.release.set()
            assert b"".join([c async for c in chunks]) == b"second"


def test_full_duplex(mode, probe):
    with TestClient(make_app(probe), mode=mode) as client, client.duplex("POST", "/upper") as duplex:
        assert duplex.response.status_code == 200
        duplex.send(b"abc")
        assert duplex.receive_until(b"ABC") == b"ABC"
        duplex.send("def")
        assert duplex.receive_until("DEF") == b"DEF"
        assert duplex.receive_all() == b""
        assert duplex.response.headers["transfer-encoding"] == "chunked"


async def test_async_full_duplex(mode, probe):
    async with AsyncTestClient(make_app(probe), mode=mode) as client:
        async with client.duplex("POST", "/upper") as duplex:
            await duplex.send("hi")
            assert await duplex.receive_until("HI") == b"HI"
            await duplex.send(b"there")
            assert await duplex.receive_until(b"THERE") == b"THERE"
            await duplex.end()
            assert await duplex.receive_all() == b""
            assert (await duplex.response()).status_code == 200


def test_iter_lines(mode, probe):
    with TestClient(make_app(probe), mode=mode) as client:
        with client.stream("POST", "/upper", content=[b"a\nb", b"\nc\n"]) as response:
            assert list(response.iter_lines()) == ["A", "B", "C"]


def test_an_early_answer_is_read_while_the_body_is_still_going_out(mode, probe):
    def body():
        for _ in range(100):
            yield b"y" * 10_000

    with TestClient(make_app(probe), mode=mode) as client:
        assert client.post("/small", content=b"x" * 100_000).status_code == 413
        assert client.post("/small", content=body()).status_code == 413
        assert client.post("/small", content=b"x" * 10).text == "10"


def test_a_failing_body_generator_fails_the_request_in_the_test(mode, probe):
    def body():
        yield b"fine"
        raise OSError("the test's body source broke")

    with TestClient(make_app(probe), mode=mode) as client:
        with pytest.raises(OSError, match="body source broke"):
            client.post("/chunks", content=body())
        assert client.get("/").text == "hello"  # the client is still usable
