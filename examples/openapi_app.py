"""OpenAPI from the handlers: models, path types, blueprints and streams, served at /openapi.json with a
Swagger UI page at /docs.

Run it, then open http://127.0.0.1:8000/docs (or curl http://127.0.0.1:8000/openapi.json).
"""

import asyncio
import zlib

from pydantic import BaseModel, Field
from pynecktie import Blueprint, Necktie, validate
from pynecktie.exceptions import NotFound
from pynecktie.forms import File
from pynecktie.ndjson import NDJSONLineError
from pynecktie.openapi import NDJSON, SSE, Multipart
from pynecktie.response import Event, json, ndjson, sse

app = Necktie("inventory")
app.config.update({
    "OPENAPI_TITLE": "Inventory",
    "OPENAPI_API_VERSION": "1.0.0",
    "OPENAPI_SERVE": True,  # the default serves /openapi.json and /docs in debug mode only
})


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    price: float = Field(gt=0, le=1_000_000)
    tags: list[str] = []


class StoredItem(Item):
    id: int


class Search(BaseModel):
    q: str = ""
    limit: int = Field(10, ge=1, le=100)


ITEMS: dict[int, StoredItem] = {}


@app.post("/items", responses={201: StoredItem})
@validate(json=Item)
async def create_item(request, body: Item):
    """Add an item.

    The body is checked against `Item` before this runs: a bad one is a 422 naming each problem.
    """
    item = StoredItem(id=len(ITEMS) + 1, **body.model_dump())
    ITEMS[item.id] = item
    return json(item, status=201)


@app.get("/items/<item_id:int>", responses={200: StoredItem, 404: "No item has this id."})
async def get_item(request, item_id: int):
    """One item by its id."""
    if item_id not in ITEMS:
        raise NotFound(f"no item {item_id}")
    return json(ITEMS[item_id])


@app.get("/items", responses={200: list[StoredItem]})
@validate(query=Search)
async def search_items(request, query: Search):
    """Items whose name contains `q`, at most `limit` of them."""
    found = [item for item in ITEMS.values() if query.q in item.name]
    return json(found[: query.limit])


# Streams: what the handler reads and sends, line by line or event by event.
class Reading(BaseModel):
    seq: int
    value: float


class Ack(BaseModel):
    seq: int
    double: float


class LineError(BaseModel):
    error: str
    line: int


@app.post("/readings", stream=True, request_body=NDJSON(Reading), responses={200: NDJSON(Ack | LineError)})
async def readings(request):
    """Acknowledge each NDJSON reading as soon as it has arrived and been validated.

    The answer has started by the time a bad line comes: it ends with a line naming it.
    """

    async def acks():
        try:
            async for reading in request.stream.ndjson(Reading):
                yield Ack(seq=reading.seq, double=reading.value * 2)
        except NDJSONLineError as exc:
            yield LineError(error=exc.message, line=exc.line)

    return ndjson(acks())


class Price(BaseModel):
    symbol: str
    price: float


@app.get("/prices", responses={200: SSE(Price, event="price")})
async def prices(request):
    """Three price events, sent as server-sent events."""

    async def feed():
        for n in range(3):
            yield Event(data=Price(symbol="NT", price=1.5 + n), event="price", id=str(n))
            await asyncio.sleep(0)

    return sse(feed())


class Photo(BaseModel):
    title: str
    photo: File


class Receipt(BaseModel):
    title: str | None = None
    size: int = 0
    crc32: int = 0


@app.post(
    "/photos",
    stream=True,
    max_body_size=None,
    request_body=Multipart(Photo),
    responses={200: Receipt, 400: "The multipart body is malformed."},
)
async def upload_photo(request):
    """Upload a photo of any size: it is checksummed part by part, never held whole."""
    receipt = Receipt()
    async for part in request.stream.multipart(max_parts=10):
        if part.filename is None:
            if part.name == "title":
                receipt.title = await part.text()
            continue
        async for chunk in part:
            receipt.size += len(chunk)
            receipt.crc32 = zlib.crc32(chunk, receipt.crc32)
    return json(receipt)


# A blueprint's routes are tagged with its name; openapi=False keeps a route out of the document.
reports = Blueprint("reports", url_prefix="/reports")


class Summary(BaseModel):
    items: int
    total_price: float


@reports.get("/summary")
async def summary(request) -> Summary:
    """How many items there are and what they cost together."""
    return json(Summary(items=len(ITEMS), total_price=sum(i.price for i in ITEMS.values())))


@reports.get("/legacy-summary", deprecated=True, responses={200: Summary})
async def legacy_summary(request):
    """The old name of /reports/summary."""
    return await summary(request)


@app.get("/internal/health", openapi=False)
async def health(request):
    return json({"ok": True})


app.blueprint(reports)

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
