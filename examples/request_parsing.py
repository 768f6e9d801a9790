"""The request: query, JSON, forms, uploads, cookies, headers and where it came from (docs/request.md)."""

from pynecktie import Necktie
from pynecktie.response import json

app = Necktie("request_parsing")


@app.get("/search")
async def search(request):
    return json({
        "q": request.args.get("q"),                # first value
        "tags": request.args.getlist("tag"),        # every value
        "pairs": request.query_args,                # in order, blanks kept
    })


@app.post("/orders")
async def orders(request):
    order = request.json  # malformed JSON is a 400 before this line returns
    return json({"items": len(order["items"])}, status=201)


@app.post("/profile")
async def profile(request):
    avatar = request.files.get("avatar")  # a File: .type, .body, .name
    return json({
        "name": request.form.get("name"),
        "langs": request.form.getlist("lang"),
        "avatar": None if avatar is None else {"name": avatar.name, "type": avatar.type,
                                               "size": len(avatar.body)},
    })


@app.get("/whoami/<section>")
async def whoami(request, section):
    return json({
        "method": request.method, "path": request.path, "query_string": request.query_string,
        "url": request.url, "host": request.host, "scheme": request.scheme,
        "ip": request.ip, "client_ip": request.client_ip, "match_info": request.match_info,
        "cookie": request.cookies.get("theme"), "agents": request.headers.getall("user-agent"),
        "content_type": request.content_type, "id": request.id,
    })


# Behind exactly one reverse proxy that appends to X-Forwarded-For / sets X-Forwarded-Proto:
proxied = Necktie("behind_proxy")
proxied.config.PROXIES_COUNT = 1


@proxied.get("/")
async def client(request):
    return json({"client_ip": request.client_ip, "scheme": request.scheme, "host": request.host})


if __name__ == "__main__":
    app.run()
