"""Debug mode: a JSON response that does not match the model its route declares is logged as an error."""

from __future__ import annotations

import logging

from necktie_testing import TestClient
from pydantic import BaseModel
from pynecktie import Necktie
from pynecktie.config import Config
from pynecktie.response import json


class Pet(BaseModel):
    name: str
    age: int


def make_app(debug: bool) -> Necktie:
    app = Necktie("checked", config=Config(DEBUG=debug))

    @app.get("/good", responses={200: Pet})
    async def good(request):
        return json({"name": "Rex", "age": 3})

    @app.get("/bad", responses={200: Pet, 404: "Not there."})
    async def bad(request):
        return json({"name": "Rex", "age": "old"})

    @app.get("/annotated")
    async def annotated(request) -> Pet:
        return json({"name": "Rex"})

    @app.get("/other-status", responses={200: Pet})
    async def other_status(request):
        return json({"anything": True}, status=404)

    return app


def errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "necktie.error"]


def test_a_mismatch_is_logged_in_debug_mode(caplog):
    caplog.set_level(logging.ERROR, "necktie.error")
    client = TestClient(make_app(debug=True))
    assert client.get("/good").status_code == 200
    assert errors(caplog) == []
    bad = client.get("/bad")
    assert bad.status_code == 200 and bad.json() == {"name": "Rex", "age": "old"}  # sent as made
    (message,) = errors(caplog)
    assert "The 200 response of GET bad does not match its declared Pet" in message and "age" in message
    client.get("/annotated")
    assert "GET annotated" in errors(caplog)[-1] and "missing" in errors(caplog)[-1]
    client.get("/other-status")  # nothing declared for a 404 with a body
    assert len(errors(caplog)) == 2


def test_nothing_is_checked_in_production(caplog):
    caplog.set_level(logging.ERROR, "necktie.error")
    app = make_app(debug=False)
    client = TestClient(app)
    assert client.get("/bad").status_code == 200
    assert errors(caplog) == [] and app.response_middleware == []
