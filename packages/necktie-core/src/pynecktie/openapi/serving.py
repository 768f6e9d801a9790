"""Serving the document: ``GET {prefix}/openapi.json`` and a Swagger UI page at ``GET {prefix}/docs``,
with the page's files from the ``openapi-ui-bundles`` package (``pip install 'necktie-core[docs]'``),
served by the app itself so the page works offline.

The app adds the routes (`install`) when it is finalized, if ``OPENAPI_SERVE`` says so (``None``, the
default: in debug mode only). They are left out of the document, cost nothing until asked for, and answer
from the cached document.
"""

from __future__ import annotations

import html
import logging
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pynecktie import _json
from pynecktie.response import HTTPResponse

from .builder import document_json

if TYPE_CHECKING:
    from pynecktie.app import Necktie

__all__ = ["DOCS_EXTRA", "assets_dir", "docs_page", "install"]

logger = logging.getLogger("necktie.root")
DOCS_EXTRA = "necktie-core[docs]"
_installed: weakref.WeakSet[Necktie] = weakref.WeakSet()


def assets_dir() -> Path | None:
    """Where Swagger UI's files are, or None when the ``docs`` extra is not installed."""
    try:
        from openapi_ui_bundles import swagger_ui
    except ImportError:
        return None
    return Path(swagger_ui.static_path)


def install(app: Necktie) -> None:
    """Add the document's and the docs page's routes to *app*, once, when ``OPENAPI_SERVE`` is on (or is
    None in debug mode). ``app.finalize()`` calls it."""
    serve = app.config.OPENAPI_SERVE
    if app in _installed or not (serve or (serve is None and app.config.DEBUG)):
        return
    _installed.add(app)
    prefix = app.config.OPENAPI_URL_PREFIX
    assets = assets_dir()

    async def openapi_json(request: Any) -> HTTPResponse:
        return HTTPResponse(document_json(app), content_type="application/json")

    async def openapi_docs(request: Any) -> HTTPResponse:
        return docs_page(app, prefix, assets is not None)

    options: dict[str, Any] = {"openapi": False, "strict_slashes": True}
    try:
        app.route(f"{prefix}/openapi.json", name="openapi.json", **options)(openapi_json)
        app.route(f"{prefix}/docs", name="openapi.docs", **options)(openapi_docs)
        if assets is not None:
            from pynecktie.static import StaticFiles

            files = StaticFiles(assets, max_age=3600)
            app.route(f"{prefix}/docs/<filename:path>", name="openapi.assets", **options)(files)
    except ValueError as exc:  # the app serves one of these paths itself: its route stays
        logger.warning("OpenAPI: not serving the document or its docs page: %s", exc)
        return
    if assets is None:
        logger.warning("OpenAPI: %s/docs needs Swagger UI's files: pip install '%s'", prefix, DOCS_EXTRA)


def docs_page(app: Necktie, prefix: str, have_assets: bool) -> HTTPResponse:
    """The Swagger UI page for the document at ``{prefix}/openapi.json`` (a 501 page saying what to install
    when the ``docs`` extra is missing)."""
    title = html.escape(f"{app.config.OPENAPI_TITLE or app.name} - API docs")
    if not have_assets:
        url = html.escape(f"{prefix}/openapi.json")
        body = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
            "<h1>The docs page needs Swagger UI's files</h1>"
            f"<p>Install them with <code>pip install '{DOCS_EXTRA}'</code> and restart. The document "
            f"itself is at <a href='{url}'>{url}</a>."
            "</p></body></html>"
        )
        return HTTPResponse(body, 501, content_type="text/html; charset=utf-8")
    assets = html.escape(f"{prefix}/docs")
    # validatorUrl null: Swagger UI would otherwise send the document to an outside validator service.
    settings = _json.dumps(
        {"url": f"{prefix}/openapi.json", "dom_id": "#swagger-ui", "validatorUrl": None, "deepLinking": True}
    ).decode()
    body = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({settings});</script>
</body>
</html>
"""
    return HTTPResponse(body, content_type="text/html; charset=utf-8")
