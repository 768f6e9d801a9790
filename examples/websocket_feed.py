"""A chat room over WebSockets: whatever one member sends, every member receives.

Run it with ``python examples/websocket_feed.py`` and join from two terminals with the `websockets`
package's client::

    python -m websockets "ws://127.0.0.1:8000/chat?name=ann"
    python -m websockets "ws://127.0.0.1:8000/chat?name=bob"
"""

import asyncio

from pynecktie import Necktie
from pynecktie.response import text

app = Necktie("chat")
app.ctx.members = set()


@app.on_request
async def require_a_name(request):
    # Request middleware runs before the upgrade: returning a response refuses the websocket.
    if request.path == "/chat" and not request.args.get("name"):
        return text("join with /chat?name=you\n", status=400)


async def broadcast(line):
    # Sends to everyone at once; a member whose connection is gone just drops out.
    members = list(app.ctx.members)
    results = await asyncio.gather(*(member.send(line) for member in members), return_exceptions=True)
    for member, result in zip(members, results, strict=True):
        if isinstance(result, Exception):
            app.ctx.members.discard(member)


@app.websocket("/chat")
async def chat(request, ws):
    name = request.args.get("name")
    await broadcast(f"* {name} joined")
    app.ctx.members.add(ws)
    try:
        async for message in ws:
            await broadcast(f"{name}: {message}")
    finally:
        app.ctx.members.discard(ws)
        await broadcast(f"* {name} left")


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
