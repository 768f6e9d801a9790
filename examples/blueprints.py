"""Blueprints, groups and class-based views (docs/blueprints.md): run it and `curl` the routes."""

from pynecktie import Necktie
from pynecktie.blueprints import Blueprint
from pynecktie.exceptions import NotFound
from pynecktie.response import json, text
from pynecktie.views import CompositionView, HTTPMethodView, stream

app = Necktie("shop")

# -- a blueprint: routes, middleware, error handlers and listeners under one name and prefix --
catalog = Blueprint("catalog", url_prefix="/catalog")
TIES = {1: "silk", 2: "wool"}


@catalog.get("/ties/<tie_id:int>")
async def show_tie(request, tie_id):
    if tie_id not in TIES:
        raise NotFound(f"no tie {tie_id}")
    return json({"id": tie_id, "fabric": TIES[tie_id]})


@catalog.on_response
async def tag_catalog(request, response):
    response.headers["x-section"] = "catalog"


@catalog.exception(NotFound)
async def missing_tie(request, exception):
    return json({"missing": str(exception)}, status=404)


@catalog.before_server_start
async def load_catalog(app):
    app.ctx.catalog_loaded = True


# -- the same routes under several prefixes, versions and hosts --
health = Blueprint("health")


@health.get("/ping")
async def ping(request):
    return text(f"pong from {request.path}")


admin = Blueprint("admin", url_prefix="/admin", host="admin.example.com")


@admin.get("/")
async def dashboard(request):
    return text("admin dashboard")


# -- groups: one prefix and version for several blueprints, middleware on all of them --
orders = Blueprint("orders", url_prefix="/orders")
payments = Blueprint("payments", url_prefix="/payments")


@orders.get("/")
async def list_orders(request):
    return json({"orders": [], "api": request.ctx.api})


@payments.get("/")
async def list_payments(request):
    return json({"payments": [], "api": request.ctx.api})


api = Blueprint.group(orders, payments, url_prefix="/api", version=2)


@api.on_request
async def mark_api(request):
    request.ctx.api = "v2"


# -- class-based views: one method per HTTP method --
class TieView(HTTPMethodView):
    async def get(self, request, tie_id):
        return text(f"tie {tie_id} is {TIES.get(tie_id, 'unknown')}")

    async def put(self, request, tie_id):
        TIES[tie_id] = request.json["fabric"]
        return text(f"tie {tie_id} is now {TIES[tie_id]}")

    async def delete(self, request, tie_id):
        TIES.pop(tie_id, None)
        return text("", status=204)


def require_token(handler):
    async def checked(request, *args, **kwargs):
        if request.headers.get("authorization") != "Bearer staff":
            return text("staff only", status=401)
        return await handler(request, *args, **kwargs)
    return checked


class StockView(HTTPMethodView):
    decorators = [require_token]

    async def get(self, request):
        return json({"stock": len(TIES)})


# -- @stream: this method reads its request body chunk by chunk as it arrives --
class UploadView(HTTPMethodView):
    async def get(self, request):
        return text("send me a PUT")

    @stream
    async def put(self, request):
        total = 0
        while (chunk := await request.stream.get()) is not None:
            total += len(chunk)
        return text(f"received {total} bytes")


# -- CompositionView: plain functions assembled into one view --
async def read_note(request):
    return text(app.ctx.note)


async def write_note(request):
    app.ctx.note = ""
    while (chunk := await request.stream.get()) is not None:
        app.ctx.note += chunk.decode()
    return text("saved", status=201)


notes = CompositionView()
notes.add(["GET"], read_note)
notes.add(["POST", "PUT"], write_note, stream=True)
app.ctx.note = "empty"

app.add_route(TieView.as_view(), "/ties/<tie_id:int>")
app.add_route(StockView.as_view(), "/stock")
app.add_route(UploadView.as_view(), "/upload")
app.add_route(notes, "/notes")

app.blueprint(catalog)
app.blueprint(health)
app.blueprint(health, url_prefix="/internal", version=1)
app.blueprint(admin)
app.blueprint(api)


@app.get("/links")
async def links(request):
    return json({
        "tie": request.url_for("catalog.show_tie", tie_id=1),
        "orders": request.url_for("orders.list_orders"),
        "view": request.url_for("TieView", tie_id=2),
    })


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
