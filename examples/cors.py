"""CORS: a JSON API that pages served from another origin call from the browser.

Run it, then: curl -si -H "Origin: http://localhost:5173" http://127.0.0.1:8000/api/items
"""

import asyncio
import os

from pynecktie import Necktie
from pynecktie.blueprints import Blueprint
from pynecktie.response import json, ndjson

app = Necktie("cors")
# The pages that may call this API (a deployment sets FRONTEND_ORIGIN, e.g. https://app.example.com).
app.config.CORS_ORIGINS = [os.environ.get("FRONTEND_ORIGIN", "http://localhost:5173")]
app.config.CORS_CREDENTIALS = True  # the page may send its cookies: fetch(url, {credentials: "include"})
app.config.CORS_HEADERS = ["X-Request-Token"]  # beyond the safelisted ones (Accept, Content-Type...)
app.config.CORS_EXPOSE_HEADERS = ["X-Total-Count"]  # response headers the page's script may read

ITEMS = {1: {"id": 1, "name": "silk tie"}, 2: {"id": 2, "name": "wool tie"}}


@app.get("/api/items")
async def items(request):
    """A simple GET: no preflight; the answer names the page's origin."""
    return json(list(ITEMS.values()), headers={"X-Total-Count": str(len(ITEMS))})


@app.put("/api/items/<item_id:int>")
async def rename(request, item_id):
    """A PUT with a custom header: the browser asks first, and Necktie answers that preflight itself."""
    if request.headers.get("x-request-token") != "t0ken":
        return json({"error": "a request token is needed"}, status=403)
    ITEMS[item_id] = {"id": item_id, "name": request.json["name"]}
    return json(ITEMS[item_id])


@app.post("/api/login")
async def login(request):
    """Sets the session cookie that the page's credentialed requests send back."""
    response = json({"user": "ada"})
    response.add_cookie("session", "ada", secure=request.scheme == "https", samesite="Lax")
    return response


@app.get("/api/me")
async def me(request):
    """Who the cookie says the caller is: None when the page sent no credentials."""
    return json({"user": request.cookies.get("session")})


@app.get("/api/ticks")
async def ticks(request):
    """A stream: the CORS headers go out in its head, and the page reads the lines as they come."""

    async def lines():
        for n in range(3):
            yield {"tick": n}
            await asyncio.sleep(0.01)

    return ndjson(lines())


@app.get("/internal/health", cors=False)
async def health(request):
    """Not for other origins: no CORS headers, whatever the app's settings."""
    return json({"ok": True})


# Any page may read the catalogue, without credentials.
public = Blueprint("public", url_prefix="/public", cors={"origins": "*", "credentials": False})


@public.get("/catalogue")
async def catalogue(request):
    """Open to every origin: Access-Control-Allow-Origin: *."""
    return json(list(ITEMS.values()))


app.blueprint(public)

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
