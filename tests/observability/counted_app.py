"""An app with METRICS_PATH set, served with ``--workers 2``: ``/pid`` says which worker answered and
counts an application metric of its own (prometheus_client, multiprocess mode)."""

from __future__ import annotations

import asyncio
import os

from prometheus_client import Counter
from pynecktie import Necktie
from pynecktie.response import stream, text

app = Necktie("counted")
app.config.METRICS_PATH = "/metrics"
hits = Counter("app_hits", "Requests to /pid, counted by the application itself.")


@app.get("/pid")
async def pid(request):
    hits.inc()
    return text(str(os.getpid()))


@app.get("/forever")
async def forever(request):
    async def ticks(response):
        while True:
            await response.write(b"tick\n")
            await asyncio.sleep(0.01)

    return stream(ticks)
