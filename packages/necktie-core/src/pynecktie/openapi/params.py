"""Path parameters in the document: a router pattern as an OpenAPI path template, and each parameter type
as a JSON Schema, from one table.

The built-in types map by name (`BUILTIN_SCHEMAS`). A type registered with ``app.router.register_type``
gives its own ``schema=`` if it has one; otherwise its converter decides (``int``: an integer, ``float``: a
number, ``uuid.UUID``: a uuid string) and any other type is a string matching its regex. A ``<name:regex>``
parameter is a string with that regex as its ``pattern``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from pynecktie.patterns import BUILTIN_TYPES, Param, ParamType, Pattern

__all__ = ["BUILTIN_SCHEMAS", "param_schema", "path_parameters", "template"]


def _matching(regex: str) -> dict[str, Any]:
    return {"type": "string", "pattern": f"^(?:{regex})$"}


BUILTIN_SCHEMAS: Mapping[str, dict[str, Any]] = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
    "slug": _matching(BUILTIN_TYPES["slug"].regex),
    "alpha": _matching(BUILTIN_TYPES["alpha"].regex),
    "ext": _matching(BUILTIN_TYPES["ext"].regex),
    "str": _matching(BUILTIN_TYPES["str"].regex),
    "path": {"type": "string", "description": "The rest of the path: it may contain `/`."},
}

# A registered type without a schema of its own: its converter says what the handler gets.
_BY_CONVERTER: Mapping[Any, dict[str, Any]] = {
    int: BUILTIN_SCHEMAS["int"],
    float: BUILTIN_SCHEMAS["float"],
    uuid.UUID: BUILTIN_SCHEMAS["uuid"],
}


def param_schema(kind: ParamType) -> dict[str, Any]:
    """The JSON Schema of a path parameter of type *kind* (a fresh dict: the caller may add to it)."""
    builtin = BUILTIN_TYPES.get(kind.name)
    if builtin is kind:
        return dict(BUILTIN_SCHEMAS[kind.name])
    declared = kind.schema
    if declared is not None:
        return dict(declared)
    known = _BY_CONVERTER.get(kind.convert)
    return dict(known) if known is not None else _matching(kind.regex)


def template(pattern: Pattern | None, path: str) -> str:
    """*path* as an OpenAPI path template: ``/items/<id:int>`` becomes ``/items/{id}``."""
    if pattern is None:
        return path
    return "/" + "".join(t if isinstance(t, str) else "{" + t.name + "}" for t in pattern.tokens)


def path_parameters(pattern: Pattern | None) -> list[dict[str, Any]]:
    """The Parameter Objects of *pattern*'s path parameters, in path order."""
    if pattern is None:
        return []
    return [_parameter(p) for p in pattern.params.values()]


def _parameter(param: Param) -> dict[str, Any]:
    return {"name": param.name, "in": "path", "required": True, "schema": param_schema(param.type)}
