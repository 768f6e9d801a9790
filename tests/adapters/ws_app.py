"""Websocket routes with a small WEBSOCKET_MAX_SIZE, the same app on every carrier.

``/sizes`` answers each message with its type and length; how each connection ended (the close code the
handler saw) is kept and read back over HTTP from ``/closes``. ``/bad-close`` tries closes a server may
not send, says which were refused, then closes with the longest reason there may be.
"""

from __future__ import annotations

from pynecktie import Necktie
from pynecktie.response import json
from pynecktie.websocket import WebSocketClosed

LIMIT = 1000

app = Necktie("adapter_ws")
app.config.WEBSOCKET_MAX_SIZE = LIMIT
app.ctx.closes = []


@app.websocket("/sizes")
async def sizes(request, ws):
    try:
        while True:
            message = await ws.recv()
            await ws.send(f"{type(message).__name__} {len(message)}")
    except WebSocketClosed as exc:
        app.ctx.closes.append(exc.code)


@app.get("/closes")
async def closes(request):
    return json(app.ctx.closes)


BAD_CLOSES = [(999, ""), (1004, ""), (1005, ""), (1006, ""), (1015, ""), (5000, ""), (1000, "é" * 62)]
LONGEST_REASON = "r" * 123


@app.websocket("/bad-close")
async def bad_close(request, ws):
    refused = []
    for code, reason in BAD_CLOSES:
        try:
            await ws.close(code, reason)
        except ValueError:
            refused.append(code)
    await ws.send(f"refused {refused}")
    await ws.close(4999, LONGEST_REASON)
