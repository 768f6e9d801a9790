"""The OpenAPI document of an app: every route as it routes, built in one pass and cached until routes
are added or the ``OPENAPI_*`` settings change.

Nothing here runs per request: the document is built on the first ``app.openapi()`` (or the first request
for ``/openapi.json``) and kept, with its JSON encoding, for the app's life.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from pynecktie import _json

from .operations import operation
from .params import template
from .schemas import Schemas
from .security import declared

if TYPE_CHECKING:
    from pynecktie.app import Necktie
    from pynecktie.route import Route

__all__ = ["build", "document", "document_json"]

# The methods an OpenAPI 3.1 Path Item can hold, in the order the document lists them.
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SETTINGS = (
    "OPENAPI_VERSION",
    "OPENAPI_TITLE",
    "OPENAPI_API_VERSION",
    "OPENAPI_DESCRIPTION",
    "OPENAPI_SERVERS",
)
_cache: weakref.WeakKeyDictionary[Necktie, tuple[tuple[Any, ...], dict[str, Any], bytes]] = (
    weakref.WeakKeyDictionary()
)


def _documented(route: Route) -> bool:
    return not (route.automatic or route.websocket or route.ctx.get("openapi") is False)


def build(app: Necktie) -> dict[str, Any]:
    """Build *app*'s OpenAPI document now (`document` caches it)."""
    config = app.config
    version: str = config.OPENAPI_VERSION
    sequential = not version.startswith("3.1")
    schemas = Schemas()
    paths: dict[str, dict[str, Any]] = {}
    used_ids: set[str] = set()
    tags: dict[str, None] = {}
    # Routes for any host first: where a host-bound route has the same path and method, the document (one
    # operation per path and method) keeps the one most clients reach; host-bound twins share an operation.
    for route in sorted(app.router.routes, key=lambda r: r.host is not None):
        if not _documented(route):
            continue
        methods = [m for m in METHODS if m.upper() in route.methods]
        item = paths.setdefault(template(route.pattern, route.path), {})
        for method in methods:
            server = {"url": f"//{route.host}"} if route.host else None
            existing = item.get(method)
            if existing is not None:  # the same path and method for another host: one operation, two servers
                if server is not None and "servers" in existing and server not in existing["servers"]:
                    existing["servers"].append(server)
                continue
            op = operation(route, method.upper(), schemas, sequential)
            base = route.ctx.get("operation_id") or route.name
            op["operationId"] = _unique(base if len(methods) == 1 else f"{base}_{method}", used_ids)
            if server is not None:
                op["servers"] = [server]
            tags.update(dict.fromkeys(op.get("tags", ())))
            item[method] = op
    info: dict[str, Any] = {"title": config.OPENAPI_TITLE or app.name, "version": config.OPENAPI_API_VERSION}
    if config.OPENAPI_DESCRIPTION:
        info["description"] = config.OPENAPI_DESCRIPTION
    doc: dict[str, Any] = {"openapi": version, "info": info}
    servers = (config.OPENAPI_SERVERS or "").split()
    if servers:
        doc["servers"] = [{"url": url} for url in servers]
    if tags:
        doc["tags"] = [{"name": name} for name in tags]
    doc["paths"] = {path: item for path, item in paths.items() if item}
    schemes = declared(app)
    required: list[dict[str, list[str]]] = [{name: []} for name, (_, needed) in schemes.items() if needed]
    if required:
        doc["security"] = required
    doc = schemas.resolve(doc, schemas.generate())
    components: dict[str, Any] = {}
    if schemas.components:
        components["schemas"] = dict(sorted(schemas.components.items()))
    if schemes:
        components["securitySchemes"] = {name: scheme for name, (scheme, _) in schemes.items()}
    if components:
        doc["components"] = components
    return doc


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name}_{n}"
    used.add(candidate)
    return candidate


def _cached(app: Necktie) -> tuple[dict[str, Any], bytes]:
    settings = (repr(app.config.get(name)) for name in _SETTINGS)
    key = (len(app.router.routes), repr(declared(app)), *settings)
    found = _cache.get(app)
    if found is None or found[0] != key:
        doc = build(app)
        found = _cache[app] = (key, doc, _json.dumps(doc))
    return found[1], found[2]


def document(app: Necktie) -> dict[str, Any]:
    """*app*'s OpenAPI document, built once and kept until routes are added or a setting changes.

    The dict is shared: copy it before changing it.
    """
    return _cached(app)[0]


def document_json(app: Necktie) -> bytes:
    """`document` encoded as JSON (what ``/openapi.json`` serves)."""
    return _cached(app)[1]
