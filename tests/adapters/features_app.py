"""An app for what must behave the same under every carrier: middleware, errors, listeners, disconnects.

Environment knobs (set by the tests): ``NECKTIE_TEST_EVENTS`` names a file the stop listeners append to;
``NECKTIE_TEST_FAIL_START`` makes a startup listener fail.
"""

import asyncio
import os

from pynecktie import Necktie
from pynecktie.exceptions import NecktieException
from pynecktie.response import HTTPResponse, json, stream, text

app = Necktie("adapter_features")
app.ctx.events = []
app.ctx.log = []


def _record(event):
    app.ctx.events.append(event)
    path = os.environ.get("NECKTIE_TEST_EVENTS")
    if path:
        with open(path, "a") as out:
            out.write(event + "\n")


@app.before_server_start
async def before_start(app, loop):
    if os.environ.get("NECKTIE_TEST_FAIL_START"):
        raise RuntimeError("database unreachable at startup")
    _record("before_server_start")


@app.after_server_start
async def after_start(app, loop):
    _record("after_server_start")


@app.before_server_stop
async def before_stop(app, loop):
    _record("before_server_stop")


@app.after_server_stop
async def after_stop(app, loop):
    _record("after_server_stop")


@app.middleware("request")
async def authenticate(request):
    request.ctx.user = request.headers.get("x-user", "anonymous")
    if request.path == "/private" and request.ctx.user == "anonymous":
        return text("who are you?", status=401)


@app.middleware("response")
async def stamp(request, response):
    response.headers["x-served-for"] = getattr(request.ctx, "user", "-")


class Conflict(Exception):
    pass


@app.exception(Conflict)
async def on_conflict(request, exc):
    return json({"conflict": str(exc)}, status=409)


@app.get("/events")
async def events(request):
    return json(app.ctx.events)


@app.get("/private")
async def private(request):
    return text(f"hello {request.ctx.user}")


@app.post("/json")
async def echo_json(request):
    return json({"got": request.json, "user": request.ctx.user})


@app.get("/boom")
async def boom(request):
    raise RuntimeError("internal detail that must not leak")


@app.get("/teapot")
async def teapot(request):
    raise NecktieException("short and stout", 418)


@app.get("/conflict")
async def conflict(request):
    raise Conflict("already there")


@app.get("/log")
async def log(request):
    return json(app.ctx.log)


@app.get("/forever")
async def forever(request):
    async def fn(response):
        try:
            while True:
                await response.write(b"tick\n")
                await asyncio.sleep(0.01)
        except BaseException as exc:
            app.ctx.log.append(f"forever: {type(exc).__name__}")
            raise
    return stream(fn)


@app.post("/forever-unread", stream=True)
async def forever_unread(request):
    """Streams without ever reading the request body (still arriving): a disconnect must still stop it."""
    async def fn(response):
        try:
            while True:
                await response.write(b"tock\n")
                await asyncio.sleep(0.01)
        except BaseException as exc:
            app.ctx.log.append(f"forever-unread: {type(exc).__name__}")
            raise
    return stream(fn)


@app.get("/sleep")
async def sleep(request):
    app.ctx.log.append("sleep: started")
    try:
        await asyncio.sleep(60)
    except BaseException as exc:
        app.ctx.log.append(f"sleep: {type(exc).__name__}")
        raise
    return text("slept")


@app.get("/count/<n:int>")
async def count(request, n):
    """n writes, none awaited: they must still reach the client complete and in order."""
    async def fn(response):
        for i in range(n):
            response.write(f"{i},")
    return stream(fn)


@app.get("/bulk/<mib:int>")
async def bulk(request, mib):
    """mib MiB in awaited 64 KiB writes, each block numbered so order and completeness show."""
    async def fn(response):
        for i in range(mib * 16):
            await response.write(b"%08d" % i + b"." * 65528)
    return stream(fn, content_type="application/octet-stream")


@app.get("/broken-stream")
async def broken_stream(request):
    async def fn(response):
        await response.write("partial,")
        raise RuntimeError("the source failed mid-way")
    return stream(fn)


def _gate() -> asyncio.Event:
    if not hasattr(app.ctx, "gate"):
        app.ctx.gate = asyncio.Event()
    return app.ctx.gate


@app.post("/slow-reader", stream=True)
async def slow_reader(request):
    """Reads nothing until released, then counts the body: meanwhile the carrier must hold the client back."""
    gate = _gate()
    await gate.wait()
    gate.clear()
    total = 0
    while (chunk := await request.stream.get()) is not None:
        total += len(chunk)
    return text(str(total))


@app.post("/upload-probe", stream=True)
async def upload_probe(request):
    """Reads the body and records how its reading ended."""
    app.ctx.log.append("upload: started")
    try:
        while await request.stream.get() is not None:
            pass
    except BaseException as exc:
        app.ctx.log.append(f"upload: {type(exc).__name__}")
        raise
    return text("complete")


@app.post("/release")
async def release(request):
    _gate().set()
    return text("released")


# -- the response-head and body-limit rules (test_rules_on_every_carrier.py) ---------------------------

@app.route("/rules/empty/<status:int>", methods=["GET", "HEAD"])
async def rules_empty(request, status):
    """A body, a content type and a framing header on a status that carries none: only X-Kept goes out."""
    return HTTPResponse(b"must not be sent", status, {"X-Kept": "1", "Content-Length": "16"}, "text/plain")


@app.route("/rules/framing", methods=["GET", "HEAD"])
async def rules_framing(request):
    """The application's own framing headers are the carrier's to write: they are dropped."""
    return text("hello", headers={"Content-Length": "999", "Transfer-Encoding": "gzip", "X-Kept": "1"})


@app.get("/rules/bad-header")
async def rules_bad_header(request):
    return text("x", headers={"X-Bad": "a\r\nX-Evil: 1"})


@app.get("/rules/bad-header-stream")
async def rules_bad_header_stream(request):
    async def fn(response):
        await response.write(b"never")
    return stream(fn, headers={"X-Bad": "nul\x00"})


@app.route("/rules/declared-stream", methods=["GET", "HEAD"])
async def rules_declared_stream(request):
    """A streamed body with a declared length goes out with that Content-Length, not chunked."""
    async def fn(response):
        await response.write(b"01234")
        await response.write(b"56789")
    return stream(fn, headers={"Content-Length": "10"})


@app.post("/rules/declared/<limit:int>", stream=True, max_body_size=16)
async def rules_declared(request, limit):
    """The route takes 16 bytes; the handler sets this request's own limit before reading."""
    request.stream.max_size = limit
    total = 0
    async for chunk in request.stream:
        total += len(chunk)
    return text(str(total))
