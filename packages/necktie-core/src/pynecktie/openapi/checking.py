"""Debug mode: each JSON response is checked against the model its route declares for its status
(``responses={200: Model}`` or the handler's return annotation), and a mismatch is logged as an error
naming the route, so the document and the code cannot drift apart unnoticed while developing.

Only in debug mode, and only for complete JSON responses (streams are not held back to be checked); the
response is sent as the handler made it.
"""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from pynecktie.response import HTTPResponse
from pynecktie.route import Route
from pynecktie.validation import adapter_for

from .media import StreamBody
from .operations import handler_for, return_type

if TYPE_CHECKING:
    from pynecktie.app import Necktie

__all__ = ["check_response", "declared_model", "install"]

error_logger = logging.getLogger("necktie.error")
_installed: weakref.WeakSet[Necktie] = weakref.WeakSet()
_declared: weakref.WeakKeyDictionary[Route, dict[tuple[str, int], Any]] = weakref.WeakKeyDictionary()


def declared_model(route: Route, method: str, status: int) -> Any:
    """The type *route* declares for a *status* answer to *method* (None when it declares none)."""
    found = _declared.setdefault(route, {})
    key = (method, status)
    if key not in found:
        responses = route.ctx.get("responses")
        if responses is None:
            returned = return_type(handler_for(route, method))
            responses = {200: returned} if returned is not None else {}
        value = responses.get(status, responses.get(str(status)))
        declared = value is not None and not isinstance(value, (str, dict, StreamBody))
        found[key] = value if declared else None
    return found[key]


async def check_response(request: Any, response: Any) -> None:
    """Response middleware: log an error when a JSON answer does not match its declared model."""
    route = request.route
    if route is None or type(response) is not HTTPResponse:
        return
    if not (response.content_type or "").startswith("application/json"):
        return
    model = declared_model(route, request.method, response.status)
    if model is None:
        return
    try:
        adapter_for(model).validate_json(response.body)
    except ValidationError as exc:
        error_logger.error(
            "The %d response of %s %s does not match its declared %s: %s",
            response.status,
            request.method,
            route.name,
            getattr(model, "__name__", repr(model)),
            exc.errors(include_url=False),
        )


def install(app: Necktie) -> None:
    """In debug mode, add `check_response` to *app*'s response middleware (once)."""
    if app.config.DEBUG and app not in _installed:
        _installed.add(app)
        app.on_response(check_response)
