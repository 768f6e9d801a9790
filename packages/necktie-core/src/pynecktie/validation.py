"""``@validate``: a handler's JSON body, query or form parsed into pydantic models before it runs.

    @app.post("/items")
    @validate(json=Item)
    async def create(request, body: Item): ...

The model goes to the parameter named ``body`` (json, form) or ``query`` (query), or to any parameter
annotated with the model's type. Form models see ``request.form`` fields as strings and ``request.files``
uploads as `pynecktie.forms.File` (a field typed ``File`` takes one). A failure is `ValidationFailed`: a
422 whose JSON body carries pydantic's error list. Malformed JSON is a 400, as ``request.json`` says.
With several sources, the query is checked first and the first failing source answers.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from . import _json
from .exceptions import BadRequest, UnprocessableEntity

if TYPE_CHECKING:
    from .response import HTTPResponse

__all__ = ["ValidationFailed", "adapter_for", "error_list", "validate"]

F = TypeVar("F", bound=Callable[..., Any])
_SEQUENCES = (list, tuple, set, frozenset)


def error_list(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors for *exc* as JSON-safe values (without documentation URLs)."""
    errors: list[dict[str, Any]] = _json.loads(exc.json(include_url=False))
    return errors


class ValidationFailed(UnprocessableEntity):
    """422: input failed validation. ``errors`` is pydantic's error list; the response is JSON.

    The body is ``{"description": "Unprocessable Content", "status": 422, "message": ..., "errors": [...]}``
    plus any *extra* keys (such as an NDJSON ``line``).
    """

    def __init__(
        self, errors: list[dict[str, Any]], message: str | None = None, *, extra: dict[str, Any] | None = None
    ) -> None:
        self.errors = errors
        self.extra = dict(extra or {})
        super().__init__(message or "Validation failed")

    def to_response(self) -> HTTPResponse:
        """The JSON error response (used by the default error page)."""
        from .exceptions import status_phrase
        from .response import json

        payload = {
            "description": status_phrase(self.status_code),
            "status": self.status_code,
            "message": self.message,
            **self.extra,
            "errors": self.errors,
        }
        return json(payload, self.status_code, self.headers)


# -- reading the inputs -----------------------------------------------------------------------------------
def _is_sequence(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_sequence(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return any(_is_sequence(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    return annotation in _SEQUENCES or origin in _SEQUENCES


def _multi_keys(model: Any) -> frozenset[str]:
    """Names (and aliases) of the model's fields that take several values."""
    fields = getattr(model, "model_fields", None) or {}
    keys = set()
    for name, info in fields.items():
        if _is_sequence(info.annotation):
            keys.add(name)
            if info.alias:
                keys.add(info.alias)
    return frozenset(keys)


def _collapse(pairs: list[tuple[str, Any]], multi: frozenset[str]) -> dict[str, Any]:
    """Query or form pairs as a dict: a list for multi-valued fields, else the first value."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in multi:
            data.setdefault(key, []).append(value)
        elif key not in data:
            data[key] = value
    return data


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _form_data(request: Any, multi: frozenset[str]) -> dict[str, Any]:
    """``request.form`` and ``request.files`` as one dict (files as `File`s); a 400 for a non-form body."""
    ctype = request.content_type.split(";", 1)[0].strip().lower()
    if ctype not in _FORM_TYPES:
        raise BadRequest(f"Expected a form body, got {ctype or 'none'!r}")
    pairs = [(k, v) for k, values in request.form.items() for v in values]
    pairs += [(k, v) for k, values in request.files.items() for v in values]
    return _collapse(pairs, multi)


@functools.lru_cache(maxsize=256)
def _cached_adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def adapter_for(model: Any) -> TypeAdapter[Any]:
    """A pydantic `TypeAdapter` for *model* (a model class or any type), built once per hashable type."""
    try:
        return _cached_adapter(model)
    except TypeError:  # unhashable, e.g. Annotated with unhashable metadata
        return TypeAdapter(model)


def _check(model: Any, data: Any, source: str) -> Any:
    try:
        return adapter_for(model).validate_python(data)
    except ValidationError as exc:
        raise ValidationFailed(error_list(exc), f"Invalid {source}") from None


def _check_json(model: Any, body: bytes) -> Any:
    if not body:
        return _check(model, None, "json body")
    try:
        return adapter_for(model).validate_json(body)
    except ValidationError as exc:
        errors = error_list(exc)
        if any(e.get("type") == "json_invalid" for e in errors):
            raise BadRequest(f"Failed when parsing body as json: {errors[0].get('msg', '')}") from None
        raise ValidationFailed(errors, "Invalid json body") from None


# -- the decorator --------------------------------------------------------------------------------------
def _target(handler: Callable[..., Any], model: Any, default: str) -> str:
    """The parameter of *handler* that receives *model*: one annotated with it, else *default*."""
    try:
        hints = typing.get_type_hints(handler)
    except Exception:
        hints = dict(getattr(handler, "__annotations__", {}))
    for name, hint in hints.items():
        if name != "return" and hint is model:
            return name
    return default


def validate(json: Any = None, query: Any = None, form: Any = None) -> Callable[[F], F]:
    """Validate the request's JSON body, query string and/or form with pydantic models before the handler.

    Put it under the route decorator. Each model is passed to the handler by keyword: to a parameter
    annotated with the model's type, else to ``body`` (json, form) or ``query`` (query).
    """
    if json is not None and form is not None:
        raise ValueError("validate() takes json= or form=, not both")
    if json is None and query is None and form is None:
        raise ValueError("validate() needs json=, query= or form=")

    def decorator(handler: F) -> F:
        body_model = json if json is not None else form
        body_param = _target(handler, body_model, "body") if body_model is not None else None
        query_param = _target(handler, query, "query") if query is not None else None
        query_multi = _multi_keys(query)
        form_multi = _multi_keys(form)

        @functools.wraps(handler)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            request = _find_request(args)
            if body_model is not None and request.stream is not None:
                await request.receive_body()
            if query_param is not None:
                pairs = request.get_args(keep_blank_values=True)
                data = {k: (v if k in query_multi else v[0]) for k, v in pairs.items()}
                kwargs[query_param] = _check(query, data, "query")
            if body_param is not None:
                if json is not None:
                    kwargs[body_param] = _check_json(json, request.body)
                else:
                    kwargs[body_param] = _check(form, _form_data(request, form_multi), "form")
            result = handler(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result

        # What the OpenAPI document reads (pynecktie.openapi): the models this handler is given.
        wrapper.validated = {"json": json, "query": query, "form": form}  # type: ignore[attr-defined]  # a function attribute
        return wrapper  # type: ignore[return-value]  # same call signature; F cannot say "async"

    return decorator


def _find_request(args: tuple[Any, ...]) -> Any:
    from .request import Request

    for arg in args:
        if isinstance(arg, Request):
            return arg
    raise TypeError("@validate needs a handler that takes the request")
