"""Limits in code (docs/limits.md): app-wide settings, per-route and per-request body limits, clean-up."""

from pynecktie import Necktie
from pynecktie.exceptions import PayloadTooLarge
from pynecktie.response import json, text

app = Necktie("limits")

# -- app-wide: set before the server starts (it copies them once) --
app.config.REQUEST_MAX_SIZE = 1024 * 1024          # 1 MiB for every route without its own limit
app.config.REQUEST_TIMEOUT = 10                    # the whole head within 10 s of its first byte
app.config.KEEP_ALIVE_TIMEOUT = 30


@app.post("/comments")
async def comment(request):
    return text(f"{len(request.body)} bytes of comment")


# -- per route: smaller for a small thing, none for a stream that never holds the body --
@app.post("/avatar", max_body_size=64 * 1024)
async def avatar(request):
    return text(f"avatar of {len(request.body)} bytes")


@app.put("/backup", stream=True, max_body_size=None)
async def backup(request):
    size = 0
    while (chunk := await request.stream.get()) is not None:
        size += len(chunk)  # written somewhere, never held: memory stays flat whatever the size
    return json({"stored": size})


# -- per request: a stream handler may change its limit before reading --
@app.put("/files/<plan>", stream=True)
async def upload(request, plan):
    request.stream.max_size = 4 * 1024 * 1024 if plan == "pro" else 256 * 1024
    size = 0
    try:
        while (chunk := await request.stream.get()) is not None:
            size += len(chunk)
    except PayloadTooLarge:
        request.app.ctx.refused.append(plan)  # clean up what was written so far, then let the 413 go out
        raise
    return json({"plan": plan, "stored": size})


app.ctx.refused = []


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
