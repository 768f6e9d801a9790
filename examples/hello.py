"""The smallest Necktie app: a text route and a streaming echo that upper-cases what it receives."""

from pynecktie import Necktie
from pynecktie.response import stream, text

app = Necktie("hello")


@app.get("/")
async def hello(request):
    return text("Hello, world!")


@app.post("/upper", stream=True)
async def upper(request):
    async def streaming(response):
        while (chunk := await request.stream.get()) is not None:
            await response.write(chunk.upper())

    return stream(streaming)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
