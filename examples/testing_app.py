"""The app docs/testing.md tests (tests/examples/test_testing_docs.py): plain, streamed, duplex and websocket
routes."""

from pynecktie import Necktie
from pynecktie.response import json, stream, text

app = Necktie("tested")
app.ctx.items = []


@app.before_server_start
async def open_resources(app):
    app.ctx.started = True


@app.get("/hello")
async def hello(request):
    return text("hello")


@app.route("/items", methods=["GET", "POST"])
async def items(request):
    if request.method == "POST":
        request.app.ctx.items.append(request.json)
        return json(request.json, status=201)
    return json(request.app.ctx.items)


@app.post("/upload", stream=True)
async def upload(request):
    sizes = []
    while (chunk := await request.stream.get()) is not None:
        sizes.append(len(chunk))
    return json({"total": sum(sizes)})


@app.get("/feed")
async def feed(request):
    async def lines(response):
        for n in range(3):
            await response.write(f"line {n}\n")
    return stream(lines, content_type="text/plain")


@app.post("/echo", stream=True)
async def echo(request):
    async def upper(response):
        while (chunk := await request.stream.get()) is not None:
            await response.write(chunk.upper())
    return stream(upper)


@app.websocket("/shout")
async def shout(request, ws):
    async for message in ws:
        if message == "bye":
            await ws.close(4000, "see you")
            return
        await ws.send(message.upper())


@app.get("/crash")
async def crash(request):
    raise RuntimeError("the handler broke")


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
