"""Routing: typed parameters, methods, slashes, versions, hosts, names and url_for (docs/routing.md)."""

import datetime

from pynecktie import Blueprint, Necktie
from pynecktie.response import json, text

app = Necktie("routing")


# -- typed parameters --
@app.get("/users/<user_id:int>")
async def user(request, user_id):
    return json({"id": user_id, "type": type(user_id).__name__})


@app.get("/tags/<tag:slug>")
async def tag(request, tag):
    return text(f"tag {tag}")


@app.get("/files/<subpath:path>")
async def files(request, subpath):
    return text(f"file {subpath}")


@app.get("/currency/<code:[A-Z]{3}>")
async def currency(request, code):
    return text(f"currency {code}")


# -- a parameter type of your own: <day:date> reaches the handler as a datetime.date --
app.router.register_type("date", r"[0-9]{4}-[0-9]{2}-[0-9]{2}", datetime.date.fromisoformat)


@app.get("/calendar/<day:date>")
async def calendar(request, day):
    next_day = request.url_for("calendar", day=day + datetime.timedelta(days=1))
    return json({"weekday": day.strftime("%A"), "next": next_day})


# -- several methods on one route; HEAD and OPTIONS come for free --
@app.route("/items", methods=["GET", "POST"])
async def items(request):
    return text(f"{request.method} items")


# -- strict slashes: /exact answers, /exact/ is a 404 --
@app.get("/exact", strict_slashes=True)
async def exact(request):
    return text("exact")


# -- versions: /v1/status and /v2/status --
@app.get("/status", version=1)
async def status_v1(request):
    return text("v1")


@app.get("/status", version=2)
async def status_v2(request):
    return text("v2")


# -- host routes: the same path answered per Host header --
@app.get("/", host="api.example.com")
async def api_home(request):
    return text("api")


@app.get("/")
async def home(request):
    return text("home")


# -- names and url_for --
@app.get("/posts/<post_id:int>", name="post")
async def show_post(request, post_id):
    return text(request.url_for("post", post_id=post_id, highlight="yes"))


# -- blueprints: a prefix, a version, and the same blueprint mounted twice --
shop = Blueprint("shop", url_prefix="/shop")


@shop.get("/cart")
async def cart(request):
    return text(f"cart at {request.path}")


app.blueprint(shop)
app.blueprint(shop, url_prefix="/store")

if __name__ == "__main__":
    app.run()
