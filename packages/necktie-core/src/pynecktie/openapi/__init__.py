"""OpenAPI from the routes as registered: ``app.openapi()`` is the app's OpenAPI 3.1 (or 3.2) document,
and the app serves it at ``/openapi.json`` with a Swagger UI page at ``/docs`` (on in debug mode; the
``OPENAPI_SERVE`` and ``OPENAPI_URL_PREFIX`` settings turn them on or off and move them).

Route options say what the code cannot: ``openapi=False``, ``tags=``, ``summary=``, ``description=``,
``deprecated=``, ``operation_id=``, ``security=``, ``request_body=`` and ``responses=`` (see
`pynecktie.openapi.operations`); the markers `NDJSON`, `SSE`, `Multipart` and `Binary` describe streamed
bodies.
"""

from typing import Any

from . import checking, serving
from .builder import build, document, document_json
from .media import NDJSON, SSE, Binary, Multipart, StreamBody
from .security import declare_security

__all__ = [
    "SSE",
    "Binary",
    "Multipart",
    "NDJSON",
    "StreamBody",
    "build",
    "declare_security",
    "document",
    "document_json",
    "install",
]


def install(app: Any) -> None:
    """What ``app.finalize()`` adds: the response checks in debug mode (`checking`), and the document's
    and docs page's routes when ``OPENAPI_SERVE`` says so (`serving`). Each is added once."""
    checking.install(app)
    serving.install(app)
