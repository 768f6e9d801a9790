"""Background work (docs/background.md quotes this file): an app task refreshing a cache while the app is
served, and work a request leaves for after its response (a receipt mailed once the order is confirmed).

Run it with ``necktie examples.background_work:app`` or any ASGI server (``uvicorn
examples.background_work:app``); ``POST /orders`` then ``GET /outbox``.
"""

import asyncio
import itertools
import time

from pynecktie import Necktie
from pynecktie.response import json

app = Necktie("background_work")
app.ctx.rates = {}
app.ctx.outbox = []
app.ctx.orders = itertools.count(1)


# -- an app task --
async def refresh_rates():
    while True:
        app.ctx.rates = {"EUR": 1.0, "USD": 1.08, "at": time.time()}
        await asyncio.sleep(app.config.get("RATES_EVERY", 60))


app.add_task(refresh_rates, name="refresh-rates")


# -- work after the response --
async def send_receipt(order_id, email):
    await asyncio.sleep(0.05)  # the mail server is slow: the client does not wait for it
    app.ctx.outbox.append(f"receipt for order {order_id} to {email}")


def audit(line):  # a plain function runs in a worker thread: it may block
    app.ctx.outbox.append(f"audit: {line}")


@app.post("/orders")
async def create_order(request):
    order_id = next(app.ctx.orders)
    request.add_background(send_receipt, order_id, email=request.json["email"])
    request.add_background(audit, f"order {order_id} created")
    return json({"order": order_id, "rates": app.ctx.rates}, status=201)


@app.get("/outbox")
async def outbox(request):
    return json(app.ctx.outbox)


@app.get("/tasks")
async def tasks(request):
    return json(app.background.running)
