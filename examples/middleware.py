"""Middleware and lifecycle: order, short-circuits, blueprint scope, listeners, ctx (docs/middleware.md)."""

import time

from pynecktie import Blueprint, Necktie
from pynecktie.response import stream, text

app = Necktie("middleware")


# -- listeners: (app) or (app, loop) --
@app.before_server_start
async def connect(app, loop):
    app.ctx.started_at = time.time()
    app.ctx.tokens = {"secret-token": "ann"}


@app.after_server_stop
async def disconnect(app):
    app.ctx.tokens.clear()


# -- request middleware runs in registration order; returning a response skips the handler --
@app.on_request
async def authenticate(request):
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    request.ctx.user = request.app.ctx.tokens.get(token)


@app.on_request
async def require_user(request):
    if request.path.startswith("/private") and request.ctx.user is None:
        return text("log in first", status=401)


# -- response middleware runs in reverse order; it may change or replace the response --
@app.on_response
async def timing(request, response):
    response.headers["X-Handled-By"] = "necktie"


@app.on_response
async def no_cache(request, response):
    response.headers["Cache-Control"] = "no-store"


@app.get("/private/profile")
async def profile(request):
    return text(f"hello {request.ctx.user}")


# -- streamed responses pass through response middleware before their first byte --
@app.get("/private/countdown")
async def countdown(request):
    async def body(response):
        for n in (3, 2, 1):
            await response.write(f"{n}\n")
    return stream(body)


# -- blueprint middleware only runs for the blueprint's routes, inside the app's --
admin = Blueprint("admin", url_prefix="/admin")


@admin.on_request
async def admins_only(request):
    if request.ctx.user != "ann":
        return text("admins only", status=403)


@admin.get("/")
async def dashboard(request):
    return text("dashboard")


app.blueprint(admin)

if __name__ == "__main__":
    app.run()
