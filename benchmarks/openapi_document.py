"""How long ``app.openapi()`` takes for an app of 1,000 routes (issue 18 asks for under a second).

    .venv/bin/python benchmarks/openapi_document.py [routes]

The app mixes typed path parameters, validated JSON bodies and queries (50 models), declared responses and
blueprints. It prints the first (building) call and a cached call; nothing here is asserted by the tests.
"""

from __future__ import annotations

import sys
import time

from pydantic import BaseModel, create_model
from pynecktie import Blueprint, Necktie, validate
from pynecktie.response import text


def make_app(routes: int) -> Necktie:
    app = Necktie("bench")
    models: list[type[BaseModel]] = [
        create_model(f"Model{i}", name=(str, ...), count=(int, 0), tags=(list[str], [])) for i in range(50)
    ]
    blueprints = [Blueprint(f"area{i}", url_prefix=f"/area{i}") for i in range(10)]
    for n in range(routes):
        model = models[n % len(models)]
        registry = blueprints[n % len(blueprints)] if n % 2 else app

        async def handler(request, **params):
            """A handler.

            With a description."""
            return text("")

        handler.__name__ = f"handler{n}"
        if n % 3 == 0:
            registry.post(f"/things{n}/<thing_id:int>", responses={201: model})(validate(json=model)(handler))
        elif n % 3 == 1:
            registry.get(f"/things{n}/<slug:slug>/<rest:path>")(validate(query=model)(handler))
        else:
            registry.get(f"/things{n}/<key:[A-Z]{{3}}>", responses={200: list[model]})(handler)
    for bp in blueprints:
        app.blueprint(bp)
    return app


def main() -> None:
    routes = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    app = make_app(routes)
    started = time.perf_counter()
    doc = app.openapi()
    built = time.perf_counter() - started
    started = time.perf_counter()
    app.openapi()
    cached = time.perf_counter() - started
    operations = sum(len(item) for item in doc["paths"].values())
    print(f"{routes} routes, {operations} operations, {len(doc['components']['schemas'])} schemas: "
          f"built in {built * 1000:.0f} ms, cached call {cached * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
