"""JSON encoding and decoding: orjson when installed (the fast path), the stdlib otherwise."""

from __future__ import annotations

import json as _stdlib_json
from collections.abc import Callable
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - exercised only where orjson is absent
    orjson = None  # type: ignore[assignment]  # the module or None: the stdlib takes over


def _default(obj: Any) -> Any:
    dump = getattr(obj, "model_dump", None)  # pydantic models
    if dump is not None:
        return dump(mode="json")
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _stdlib_dumps(obj: Any) -> bytes:
    return _stdlib_json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=_default).encode()


if orjson is not None:
    _OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS

    def _orjson_dumps(obj: Any) -> bytes:
        return orjson.dumps(obj, default=_default, option=_OPTIONS)

    dumps: Callable[[Any], bytes] = _orjson_dumps
    loads: Callable[[bytes | str], Any] = orjson.loads
    DecodeError: type[Exception] = orjson.JSONDecodeError
else:  # pragma: no cover
    dumps = _stdlib_dumps
    loads = _stdlib_json.loads
    DecodeError = ValueError


def encoder(name: str) -> Callable[[Any], bytes]:
    """The encoder a ``JSON_ENCODER`` setting names: ``orjson`` (when installed) or ``stdlib``."""
    return dumps if name == "orjson" else _stdlib_dumps
