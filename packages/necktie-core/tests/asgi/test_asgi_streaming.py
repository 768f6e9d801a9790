"""Streaming over ASGI: the body pulled chunk by chunk, each write one ``http.response.body``, in order."""

from __future__ import annotations

import asyncio

import pytest
from pynecktie import Necktie
from pynecktie.asgi import ResponseAborted
from pynecktie.exceptions import ConnectionClosed
from pynecktie.response import stream, text


@pytest.fixture
def app():
    return Necktie("asgi_streaming")


async def test_get_pulls_receive_only_as_the_handler_asks(app, scripted, scope):
    proceed = asyncio.Event()
    got = []

    @app.post("/up", stream=True)
    async def up(request):
        got.append(await request.stream.get())
        await proceed.wait()
        while (chunk := await request.stream.get()) is not None:
            got.append(chunk)
        return text(str(len(got)))

    exchange = scripted(app, scope("POST", "/up"))
    for piece in (b"one", b"two", b"three"):
        exchange.push(piece, more=True)
    exchange.push(b"", more=False)
    await exchange.until(lambda: got == [b"one"])
    await asyncio.sleep(0.05)  # give a read-ahead every chance to show itself
    assert exchange.receive_calls == 1
    assert exchange.inbox.qsize() == 3
    proceed.set()
    await exchange.finish()
    assert got == [b"one", b"two", b"three"]
    assert exchange.body == b"3"


async def test_each_write_is_one_body_message_in_order_without_await(app, asgi_call, scope):
    """The guide's response-streaming example: writes without ``await`` still go out, in order."""
    @app.route("/")
    async def index(request):
        async def sample_streaming_fn(response):
            response.write("foo,")
            response.write("bar")
        return stream(sample_streaming_fn, content_type="text/csv")

    exchange = await asgi_call(app, scope())
    assert exchange.status == 200
    assert exchange.headers[b"content-type"] == b"text/csv"
    assert b"content-length" not in exchange.headers  # the server chooses the framing
    assert exchange.bodies == [
        {"type": "http.response.body", "body": b"foo,", "more_body": True},
        {"type": "http.response.body", "body": b"bar", "more_body": True},
        {"type": "http.response.body", "body": b"", "more_body": False},
    ]


async def test_mixed_awaited_and_unawaited_writes_keep_their_order(app, asgi_call, scope):
    @app.get("/")
    async def index(request):
        async def fn(response):
            for i in range(50):
                if i % 3:
                    response.write(f"{i},")
                else:
                    await response.write(f"{i},")
        return stream(fn)

    exchange = await asgi_call(app, scope())
    assert exchange.body == "".join(f"{i}," for i in range(50)).encode()
    assert all(m["more_body"] for m in exchange.bodies[:-1]) and exchange.complete


async def test_awaited_write_waits_until_its_chunk_was_sent(app, scripted, scope):
    progress = []

    @app.get("/")
    async def index(request):
        async def fn(response):
            progress.append("writing")
            await response.write("first")
            progress.append("sent")
        return stream(fn)

    exchange = scripted(app, scope())
    exchange.send_gate = asyncio.Event()
    exchange.push()
    await exchange.until(lambda: progress == ["writing"] and exchange.sent)
    await asyncio.sleep(0.05)
    assert progress == ["writing"]  # the server has not taken the chunk yet: write is still pending
    exchange.send_gate.set()
    await exchange.finish()
    assert progress == ["writing", "sent"]
    assert exchange.body == b"first"


async def test_full_duplex_echo_goes_out_before_the_body_ends(app, scripted, scope):
    @app.post("/stream", stream=True)
    async def handler(request):
        async def streaming(response):
            while True:
                body = await request.stream.get()
                if body is None:
                    break
                response.write(body.decode("utf-8").replace("1", "A"))
        return stream(streaming)

    exchange = scripted(app, scope("POST", "/stream"))
    exchange.push(b"1111", more=True)
    await exchange.until(lambda: exchange.body == b"AAAA")
    exchange.push(b"x1", more=True)
    await exchange.until(lambda: exchange.body == b"AAAAxA")
    assert not exchange.complete
    exchange.push(b"", more=False)
    await exchange.finish()
    assert exchange.complete and exchange.body == b"AAAAxA"


async def test_disconnect_during_get_reaches_the_handler(app, scripted, scope):
    outcome = []

    @app.post("/up", stream=True)
    async def up(request):
        try:
            while await request.stream.get() is not None:
                pass
        except (ConnectionClosed, asyncio.CancelledError) as exc:
            outcome.append(type(exc).__name__)
            raise
        return text("complete")  # pragma: no cover - never reached

    exchange = scripted(app, scope("POST", "/up"))
    exchange.push(b"part", more=True)
    exchange.disconnect()
    await exchange.finish()
    assert outcome and outcome[0] in ("ConnectionClosed", "CancelledError")
    assert exchange.sent == []


async def test_disconnect_during_a_streamed_response_cancels_the_handler(app, scripted, scope):
    events = []

    @app.get("/forever")
    async def forever(request):
        async def fn(response):
            try:
                while True:
                    await response.write(b"tick")
                    await asyncio.sleep(0.001)
            except asyncio.CancelledError:
                events.append("cancelled")
                raise
        return stream(fn)

    exchange = scripted(app, scope("GET", "/forever"))
    exchange.push()
    await exchange.until(lambda: len(exchange.bodies) >= 3)
    exchange.disconnect()
    await exchange.finish()
    assert events == ["cancelled"]
    assert not exchange.complete


async def test_send_failing_mid_stream_is_a_closed_connection(app, scripted, scope):
    outcome = []

    @app.get("/")
    async def index(request):
        async def fn(response):
            await response.write(b"a")
            try:
                for _ in range(1000):
                    await response.write(b"b")
            except (ConnectionClosed, asyncio.CancelledError) as exc:
                outcome.append(type(exc).__name__)
                raise
        return stream(fn)

    exchange = scripted(app, scope())
    exchange.push()
    await exchange.until(lambda: exchange.bodies)
    exchange.send_error = OSError("connection reset")
    await exchange.finish()  # the client is gone: nothing to raise to the server
    assert outcome and outcome[0] in ("ConnectionClosed", "CancelledError")
    assert not exchange.complete


async def test_failing_stream_aborts_so_the_server_drops_the_connection(app, scripted, scope):
    @app.get("/")
    async def index(request):
        async def fn(response):
            await response.write("partial")
            raise RuntimeError("broken mid-way")
        return stream(fn)

    exchange = scripted(app, scope())
    exchange.push()
    with pytest.raises(ResponseAborted):
        await exchange.finish()
    assert exchange.body == b"partial"
    assert not exchange.complete


async def test_declared_length_is_kept_and_enforced(app, asgi_call, scope):
    @app.get("/exact")
    async def exact(request):
        async def fn(response):
            await response.write("12345")
            response.write("67890-extra")
        return stream(fn, headers={"Content-Length": "10"})

    @app.get("/short")
    async def short(request):
        async def fn(response):
            await response.write("123")
        return stream(fn, headers={"Content-Length": "10"})

    exact_ = await asgi_call(app, scope("GET", "/exact"))
    assert exact_.headers[b"content-length"] == b"10"
    assert exact_.body == b"1234567890" and exact_.complete
    with pytest.raises(ResponseAborted):
        await asgi_call(app, scope("GET", "/short"))


async def test_head_of_a_stream_sends_no_body(app, asgi_call, scope):
    @app.route("/", methods=["GET", "HEAD"])
    async def index(request):
        async def fn(response):
            await response.write("not for HEAD")
        return stream(fn)

    exchange = await asgi_call(app, scope("HEAD"))
    assert exchange.status == 200
    assert exchange.body == b"" and exchange.complete


async def test_write_after_the_stream_ended_raises(app, asgi_call, scope):
    kept = []

    @app.get("/")
    async def index(request):
        async def fn(response):
            kept.append(response)
            response.write("x")
        return stream(fn)

    exchange = await asgi_call(app, scope())
    assert exchange.body == b"x"
    with pytest.raises(ConnectionClosed):
        kept[0].write("late")


async def test_disconnect_stops_a_stream_whose_handler_never_reads_the_body(app, scripted, scope):
    events = []

    @app.post("/unread", stream=True)
    async def unread(request):
        async def fn(response):
            try:
                while True:
                    await response.write(b"tock")
                    await asyncio.sleep(0.001)
            except asyncio.CancelledError:
                events.append("cancelled")
                raise
        return stream(fn)

    exchange = scripted(app, scope("POST", "/unread"))
    exchange.push(b"ignored", more=True)
    await exchange.until(lambda: len(exchange.bodies) >= 3)
    exchange.disconnect()
    await exchange.finish()
    assert events == ["cancelled"]


async def test_listening_while_the_handler_is_busy_holds_a_bounded_amount(app, scripted, scope):
    """While a streamed response runs and the handler does not read, the adapter takes body messages
    (to hear a disconnect) only up to REQUEST_BUFFER_SIZE bytes; the handler later gets them all, in order."""
    app.config.REQUEST_BUFFER_SIZE = 10
    proceed = asyncio.Event()
    got = []

    @app.post("/later", stream=True)
    async def later(request):
        async def fn(response):
            await response.write("started")
            await proceed.wait()
            while (chunk := await request.stream.get()) is not None:
                got.append(chunk)
                await response.write(chunk)
        return stream(fn)

    exchange = scripted(app, scope("POST", "/later"))
    pieces = [b"%04d" % i for i in range(10)]
    for piece in pieces:
        exchange.push(piece, more=True)
    exchange.push(b"", more=False)
    await exchange.until(lambda: exchange.body == b"started" and exchange.receive_calls >= 3)
    await asyncio.sleep(0.05)  # give an unbounded read-ahead every chance to show itself
    assert exchange.receive_calls == 3  # 3 x 4 bytes reach the 10-byte hold: then it stops taking
    proceed.set()
    await exchange.finish()
    assert got == pieces
    assert exchange.body == b"started" + b"".join(pieces)
