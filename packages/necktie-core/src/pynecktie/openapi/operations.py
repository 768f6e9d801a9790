"""One route and method as an OpenAPI Operation Object, from what the route already says: its path
parameters, its ``@validate`` models, its docstring, its blueprint, and the options given to the route
decorator (kept in ``route.ctx``):

- ``openapi=False`` leaves the route out; ``summary=``, ``description=``, ``tags=[...]``,
  ``operation_id=``, ``deprecated=True`` and ``security=[...]`` say what they say;
- ``request_body=`` is a type (JSON), or a stream marker (`pynecktie.openapi.media`);
- ``responses={status: ...}`` gives each status a type (JSON), a stream marker, a description (a str),
  None (no body) or a ready Response Object (a dict). Without it, the handler's return annotation (when it is
  not a response class) is the 200 response.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from pynecktie.exceptions import status_phrase
from pynecktie.response import BaseHTTPResponse
from pynecktie.route import Route

from .media import NDJSON, Binary, StreamBody
from .params import path_parameters
from .schemas import Schemas

__all__ = ["VALIDATION_ERROR", "handler_for", "operation", "return_type", "validation_error_schema"]

VALIDATION_ERROR = "ValidationFailed"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def handler_for(route: Route, method: str) -> Callable[..., Any]:
    """The function that answers *method* on *route* (a view's method handler, else the route's handler)."""
    per_method = getattr(route.handler, "method_handlers", None)
    if per_method and method in per_method:
        return per_method[method][0]  # type: ignore[no-any-return]  # (handler, stream) pairs
    return route.handler


def operation(route: Route, method: str, schemas: Schemas, sequential: bool) -> dict[str, Any]:
    """The Operation Object of *method* on *route* (without its ``operationId``, set by the caller)."""
    options = route.ctx
    handler = handler_for(route, method)
    op: dict[str, Any] = {}
    tags = ([route.blueprint.name] if route.blueprint is not None else []) + list(options.get("tags", ()))
    if tags:
        op["tags"] = list(dict.fromkeys(tags))
    summary, description = _docstring(handler)
    summary = options.get("summary", summary)
    description = options.get("description", description)
    if summary:
        op["summary"] = summary
    if description:
        op["description"] = description
    validated: dict[str, Any] = getattr(handler, "validated", None) or {}
    parameters = path_parameters(route.pattern)
    if validated.get("query") is not None:
        parameters += _query_parameters(validated["query"], schemas)
    if parameters:
        op["parameters"] = parameters
    body = _request_body(route, options, validated, schemas, sequential)
    if body is not None:
        op["requestBody"] = body
    op["responses"] = _responses(handler, options, schemas, sequential)
    if any(validated.values()) or isinstance(options.get("request_body"), NDJSON):
        op["responses"].setdefault("422", _validation_response(schemas))
    if options.get("deprecated"):
        op["deprecated"] = True
    if "security" in options:
        op["security"] = list(options["security"])
    return op


def _docstring(handler: Callable[..., Any]) -> tuple[str, str]:
    """(summary, description): the first paragraph and the rest of a function's docstring."""
    target = inspect.unwrap(handler)
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        return "", ""  # a callable object: its class's docstring is not about this route
    doc = inspect.getdoc(target) or ""
    summary, _, rest = doc.partition("\n\n")
    return " ".join(summary.split()), rest.strip()


def _query_parameters(model: Any, schemas: Schemas) -> list[dict[str, Any]]:
    """One ``in: query`` parameter per field of *model* (lists repeat: ``?tag=a&tag=b``)."""
    schema = schemas.inline(model)
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _json_content(type_: Any, schemas: Schemas, mode: Any) -> dict[str, Any]:
    return {"application/json": {"schema": schemas.ref(type_, mode)}}


def _request_body(
    route: Route, options: dict[str, Any], validated: dict[str, Any], schemas: Schemas, sequential: bool
) -> dict[str, Any] | None:
    declared = options.get("request_body")
    if isinstance(declared, StreamBody):
        content = declared.content(schemas, sequential, "validation")
        return {"description": declared.description, "required": True, "content": content}
    if declared is not None:
        return {"required": True, "content": _json_content(declared, schemas, "validation")}
    if validated.get("json") is not None:
        return {"required": True, "content": _json_content(validated["json"], schemas, "validation")}
    if validated.get("form") is not None:
        schema = schemas.ref(validated["form"], "validation")
        return {"required": True, "content": {ctype: {"schema": schema} for ctype in _FORM_TYPES}}
    if route.stream:
        raw = Binary()
        return {"description": raw.description, "content": raw.content(schemas, sequential, "validation")}
    return None


def _responses(
    handler: Callable[..., Any], options: dict[str, Any], schemas: Schemas, sequential: bool
) -> dict[str, Any]:
    declared = options.get("responses")
    if declared is None:
        returned = return_type(handler)
        declared = {200: returned} if returned is not None else {}
    out: dict[str, Any] = {}
    for status, value in declared.items():
        out[str(status)] = _response(status, value, schemas, sequential)
    if not out:
        out["default"] = {"description": "The handler's response (not declared: see `responses=`)."}
    return out


def _response(status: int | str, value: Any, schemas: Schemas, sequential: bool) -> dict[str, Any]:
    phrase = status_phrase(status) if isinstance(status, int) else ""
    if isinstance(value, dict):
        return value
    if value is None or isinstance(value, str):
        return {"description": value or phrase or "Response"}
    if isinstance(value, StreamBody):
        content = value.content(schemas, sequential, "serialization")
        return {
            "description": f"{phrase}. {value.description}" if phrase else value.description,
            "content": content,
        }
    return {"description": phrase or "Response", "content": _json_content(value, schemas, "serialization")}


def return_type(handler: Callable[..., Any]) -> Any:
    """The handler's return annotation when it names what it sends (not a response class), else None."""
    target = inspect.unwrap(handler)
    try:
        hint = typing.get_type_hints(target).get("return")
    except Exception:  # an annotation that does not resolve is not a schema
        return None
    if hint is None or hint is type(None) or hint is Any:
        return None
    if inspect.isclass(hint) and issubclass(hint, BaseHTTPResponse):
        return None
    return hint


def validation_error_schema() -> dict[str, Any]:
    """The JSON body of a 422 (`pynecktie.validation.ValidationFailed`)."""
    detail = {
        "type": "object",
        "required": ["type", "loc", "msg"],
        "properties": {
            "type": {"type": "string"},
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"},
            "input": {},
            "ctx": {"type": "object"},
        },
    }
    return {
        "type": "object",
        "required": ["description", "status", "message", "errors"],
        "properties": {
            "description": {"type": "string"},
            "status": {"type": "integer", "const": 422},
            "message": {"type": "string"},
            "line": {"type": "integer", "description": "The NDJSON line that failed (NDJSON bodies)."},
            "errors": {"type": "array", "items": detail},
        },
    }


def _validation_response(schemas: Schemas) -> dict[str, Any]:
    ref = schemas.add_component(VALIDATION_ERROR, validation_error_schema())
    return {"description": "The input failed validation.", "content": {"application/json": {"schema": ref}}}
