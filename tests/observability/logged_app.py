"""An app served with LOG_FORMAT=json and REQUEST_ID on (the test sets them in the environment)."""

from __future__ import annotations

import logging

from pynecktie import Necktie
from pynecktie.response import text

app = Necktie("logged")
log = logging.getLogger("shop")


@app.get("/items/<n:int>")
async def item(request, n):
    log.warning('item %s: "quoted"\nsecond line \x1b[31m', n)
    return text("item")


@app.post("/upload")
async def upload(request):
    return text("ok")


@app.get("/boom")
async def boom(request):
    raise RuntimeError("it broke")
