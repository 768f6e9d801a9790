"""Routes the streaming-format tests drive (beyond the examples): served by every carrier."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel
from pynecktie import Necktie, validate
from pynecktie.forms import File
from pynecktie.response import Event, json, ndjson, sse, text
from pynecktie.views import HTTPMethodView
from pynecktie.views import stream as stream_view

app = Necktie("streaming_apps")


# -- multipart ---------------------------------------------------------------------------------------------
@app.post("/mp/heads", stream=True)
async def heads(request):
    """Announce each part as its head arrives, then its size once read (full duplex)."""

    async def lines():
        async for part in request.stream.multipart():
            yield {"start": part.name}
            size = 0
            async for chunk in part:
                size += len(chunk)
            yield {"end": part.name, "size": size}

    return ndjson(lines())


@app.post("/mp/limited", stream=True)
async def limited(request):
    fields = {}
    async for part in request.stream.multipart(max_parts=3, max_field_size=10, max_header_size=200,
                                               max_headers=3):
        fields[part.name] = (await part.read()).decode()
    return json(fields)


@app.post("/mp/form")
async def form(request):
    """The buffered parser (request.form / request.files) under the app's MULTIPART_* settings."""
    files = {name: [len(f.body) for f in uploads] for name, uploads in request.files.items()}
    return json({"fields": dict(request.form), "files": files})


@app.post("/mp/collect", stream=True)
async def collect(request):
    """The same answer from the streaming parser: fields joined with read(), files only counted."""
    fields, files = {}, {}
    async for part in request.stream.multipart():
        if part.is_file:
            async for _ in part:
                pass
            files.setdefault(part.name, []).append(part.size)
        else:
            fields.setdefault(part.name, []).append((await part.read()).decode())
    return json({"fields": fields, "files": files})


@app.post("/mp/skip", stream=True)
async def skip(request):
    """Read only the parts named keep-*; the others are skipped by moving on."""
    seen, kept = [], {}
    async for part in request.stream.multipart():
        seen.append(part.name)
        if part.name.startswith("keep"):
            kept[part.name] = await part.text()
    return json({"seen": seen, "kept": kept})


@app.post("/mp/stale", stream=True)
async def stale(request):
    reader = request.stream.multipart()
    first = await reader.__anext__()
    await reader.__anext__()
    try:
        await first.read()
    except RuntimeError as exc:
        return json({"error": str(exc)})
    return json({"error": None})


# -- ndjson ------------------------------------------------------------------------------------------------
class Point(BaseModel):
    x: int
    y: int


@app.post("/nd/plain", stream=True)
async def nd_plain(request):
    """Lines without a model: plain JSON values."""
    return json([item async for item in request.stream.ndjson()])


@app.post("/nd/points", stream=True)
async def nd_points(request):
    return json([p.x + p.y async for p in request.stream.ndjson(Point, max_line_size=64)])


@app.get("/nd/out")
async def nd_out(request):
    """Models, dicts, lists and scalars from a sync iterable, one line each."""
    return ndjson([Point(x=1, y=2), {"a": [1, "é"]}, [3], "s", 4.5, None, True])


# -- sse ---------------------------------------------------------------------------------------------------
released = asyncio.Event()


@app.get("/sse/quiet")
async def sse_quiet(request):
    """Sends nothing until /sse/release is called: only keep-alive pings flow meanwhile."""
    released.clear()

    async def feed():
        yield Event(data="first", id="1")
        await released.wait()
        yield "done"

    return sse(feed(), ping=0.05)


@app.get("/sse/release")
async def sse_release(request):
    released.set()
    return text("released")


closed: list[str] = []


@app.get("/sse/forever")
async def sse_forever(request):
    """Ticks until the client goes away; the generator's `finally` records that it was closed."""

    async def feed():
        try:
            n = 0
            while True:
                n += 1
                yield f"tick {n}"
                await asyncio.sleep(0.01)
        finally:
            closed.append("sse")

    return sse(feed())


flood_sent = [0]


@app.get("/sse/flood")
async def sse_flood(request):
    """50,000 events of 1 KiB, all ready at once: a client that reads nothing must hold the source back."""

    def feed():
        for _ in range(50_000):
            flood_sent[0] += 1
            yield "f" * 1024

    return sse(feed(), ping=None)


@app.get("/sse/flood-sent")
async def sse_flood_sent(request):
    return json(flood_sent[0])


@app.get("/sse/closed")
async def sse_closed(request):
    return json(closed)


@app.get("/sse/last-id")
async def sse_last_id(request):
    return text(repr(request.last_event_id))


# -- validation --------------------------------------------------------------------------------------------
class Page(BaseModel):
    limit: int = 10
    ids: list[int] = []
    flag: bool | None = None


@app.post("/v/both")
@validate(json=Point, query=Page)
async def both(request, body, query):
    return json({"body": body, "query": query})


@app.post("/v/annotated")
@validate(json=Point)
async def annotated(request, point: Point):
    return json({"sum": point.x + point.y})


@app.post("/v/stream", stream=True)
@validate(json=Point)
async def on_stream_route(request, body: Point):
    return json(body)


@app.post("/v/list")
@validate(json=list[Point])
async def many(request, body):
    return json(body)


class PointView(HTTPMethodView):
    @validate(json=Point)
    async def post(self, request, body):
        return json({"view": body})


class StreamedPointView(HTTPMethodView):
    @stream_view
    @validate(json=Point)
    async def put(self, request, body):
        return json({"streamed view": body})


app.add_route(PointView.as_view(), "/v/view")
app.add_route(StreamedPointView.as_view(), "/v/streamed-view")


class Profile(BaseModel):
    name: str
    avatar: File
    tags: list[str] = []


@app.post("/v/profile")
@validate(form=Profile)
async def profile(request, body: Profile):
    avatar = body.avatar
    return json({"name": body.name, "tags": body.tags, "file": [avatar.name, avatar.type, len(avatar.body)]})
