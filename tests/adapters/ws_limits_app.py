"""A websocket route with a small WEBSOCKET_MAX_SIZE, the same app on every carrier.

``/sizes`` answers each message with its type and length; how each connection ended (the close code the
handler saw) is kept and read back over HTTP from ``/closes``.
"""

from __future__ import annotations

from pynecktie import Necktie
from pynecktie.response import json
from pynecktie.websocket import WebSocketClosed

LIMIT = 1000

app = Necktie("adapter_ws_limits")
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
