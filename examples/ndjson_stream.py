"""NDJSON in and out: validate a JSON-lines upload line by line and answer each line while it streams.

Run it, then: printf '{"seq":1,"value":2.5}\n{"seq":2,"value":4}\n' |
    curl -T - -H 'Content-Type: application/x-ndjson' http://127.0.0.1:8000/ingest
"""

from pydantic import BaseModel
from pynecktie import Necktie
from pynecktie.ndjson import NDJSONLineError
from pynecktie.response import json, ndjson

app = Necktie("ndjson_stream")


class Reading(BaseModel):
    seq: int
    value: float


@app.post("/ingest", stream=True, max_body_size=None)
async def ingest(request):
    """Full duplex: one acknowledgement line per reading, sent as soon as that reading is validated."""

    async def acks():
        try:
            async for reading in request.stream.ndjson(Reading):
                yield {"seq": reading.seq, "double": reading.value * 2}
        except NDJSONLineError as exc:  # the response has started: report the bad line in the stream
            yield {"error": exc.message, "line": exc.line}

    return ndjson(acks())


@app.post("/total", stream=True)
async def total(request):
    """Nothing is sent before the body is read, so a bad line becomes a 422 naming it."""
    count, total = 0, 0.0
    async for reading in request.stream.ndjson(Reading):
        count += 1
        total += reading.value
    return json({"count": count, "total": total})


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
