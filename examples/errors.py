"""Errors: exceptions with statuses, handlers, and the default error page (docs/errors.md)."""

from pynecktie import Blueprint, Necktie
from pynecktie.exceptions import Forbidden, NecktieException, NotFound
from pynecktie.response import json

app = Necktie("errors")


class PaymentRequired(NecktieException):
    """402: an exception of your own, with its status."""

    status_code = 402
    quiet = True  # expected: not logged as an error


@app.get("/articles/<article_id:int>")
async def article(request, article_id):
    if article_id != 1:
        raise NotFound(f"No article {article_id}")
    return json({"id": 1, "title": "Hello"})


@app.get("/premium")
async def premium(request):
    raise PaymentRequired("Subscribe to read this")


@app.get("/crash")
async def crash(request):
    raise RuntimeError("the database password is hunter2")  # never shown unless DEBUG


# -- handlers: for an exception class and its subclasses --
@app.exception(PaymentRequired)
async def payment_required(request, exception):
    return json({"error": exception.message, "plans": ["monthly", "yearly"]}, status=402)


# -- blueprint handlers only see the blueprint's routes --
api = Blueprint("api", url_prefix="/api")


@api.get("/secret")
async def secret(request):
    raise Forbidden("not for you")


@api.exception(Forbidden)
async def api_forbidden(request, exception):
    return json({"error": "forbidden", "detail": exception.message}, status=403)


app.blueprint(api)

if __name__ == "__main__":
    app.run()
