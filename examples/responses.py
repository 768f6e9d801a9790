"""Responses: json, html, text, raw, empty, redirect, files and cookies (docs/responses.md)."""

from pathlib import Path

import orjson
from pynecktie import Necktie
from pynecktie.response import empty, file, file_stream, html, json, raw, redirect, text

app = Necktie("responses")
HERE = Path(__file__).parent
REPORT = HERE / "public" / "report.csv"


@app.get("/json")
async def as_json(request):
    return json({"ok": True}, status=201, headers={"X-Version": "1"})


@app.get("/json-sorted")
async def sorted_json(request):
    return json({"b": 1, "a": 2}, dumps=lambda obj: orjson.dumps(obj, option=orjson.OPT_SORT_KEYS))


@app.get("/html")
async def as_html(request):
    return html("<h1>Hello</h1>")


@app.get("/text")
async def as_text(request):
    return text("plain")


@app.get("/raw")
async def as_raw(request):
    return raw(b"\x89PNG...", content_type="image/png")


@app.delete("/things/<thing_id:int>")
async def delete_thing(request, thing_id):
    return empty()  # 204


@app.get("/old")
async def old(request):
    return redirect(request.url_for("as_text"), status=301)


@app.get("/download")
async def download(request):
    return await file(REPORT, filename="report-2026.csv", max_age=3600)


@app.get("/report")
def report(request):
    return file(REPORT)  # no await needed; Range, ETag and If-Modified-Since are handled


@app.get("/report-stream")
async def report_stream(request):
    return file_stream(REPORT, chunk_size=4096)


@app.post("/login")
async def login(request):
    response = text("welcome")
    response.add_cookie("session", "abc123", max_age=3600)  # Secure, HttpOnly, SameSite=Lax by default
    return response


if __name__ == "__main__":
    app.run()
