"""Server-sent events: text, JSON and full `Event`s, resumable with Last-Event-ID.

Run it, then: curl -N http://127.0.0.1:8000/events   (or -H 'Last-Event-ID: 2' to resume)
"""

import asyncio

from pydantic import BaseModel
from pynecktie import Necktie
from pynecktie.response import Event, sse

app = Necktie("sse_events")


class Price(BaseModel):
    symbol: str
    price: float


@app.get("/events")
async def events(request):
    """Five numbered events; a reconnecting client gets only those after its Last-Event-ID."""
    start = int(request.last_event_id or 0) + 1

    async def feed():
        for n in range(start, 6):
            yield Event(data=f"tick {n}\nof 5", event="tick", id=str(n))
            await asyncio.sleep(0)

    return sse(feed())


@app.get("/mixed")
async def mixed(request):
    """Strings, dicts and models as data, a retry hint and a comment."""
    return sse([
        Event(retry=3000, comment="hello"),
        "plain text",
        {"kind": "dict", "n": 1},
        Price(symbol="NT", price=1.5),
    ])


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
