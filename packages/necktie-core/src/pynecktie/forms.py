"""Form values: what ``request.form``, ``request.files`` and ``request.args`` hold, and url-encoded parsing.

``request.form`` and ``request.files`` come from a body already in memory (bounded by the route's body
limit): url-encoded bodies are parsed here, ``multipart/form-data`` by `pynecktie.multipart`, the one module
that parses multipart (streamed uploads too, with the same limits). Malformed bodies raise `BadRequest`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qsl

from .exceptions import BadRequest

if TYPE_CHECKING:
    from .config import Config


class RequestParameters(dict[str, list[Any]]):
    """Query or form fields: ``get`` gives the first value, ``getlist`` all of them."""

    def get(self, name: str, default: Any = None) -> Any:
        """The first value of *name*, or *default*."""
        values = super().get(name)
        return values[0] if values else default

    def getlist(self, name: str, default: list[Any] | None = None) -> list[Any]:
        """Every value of *name* (``default`` or ``[]`` when absent)."""
        return super().get(name) or ([] if default is None else default)


class File(NamedTuple):
    """An uploaded file: its content type, its bytes, and the file name the client gave (unsanitized)."""

    type: str
    body: bytes
    name: str


def parse_urlencoded(body: bytes, max_fields: int, charset: str = "utf-8") -> RequestParameters:
    """Fields of a url-encoded body, multi-valued, blanks kept; more than *max_fields* is a 400."""
    try:
        text = body.decode(charset)
    except (UnicodeDecodeError, LookupError):
        raise BadRequest("Form body is not valid text") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields)
    except ValueError:
        raise BadRequest(f"Too many form fields (more than {max_fields})") from None
    fields = RequestParameters()
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    return fields


def parse_body(
    body: bytes, content_type: str, config: Config | None = None
) -> tuple[RequestParameters, RequestParameters]:
    """(fields, files) of a form body of *content_type*; other content types give two empty mappings.

    The app's *config* bounds them: ``REQUEST_MAX_QUERY_FIELDS`` fields in a url-encoded body, the
    ``MULTIPART_*`` limits on a multipart one (`pynecktie.multipart`). Without it, the defaults.
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        from .multipart import options

        charset = options(content_type)[1].get("charset", "utf-8")
        max_fields = config.REQUEST_MAX_QUERY_FIELDS if config is not None else 1000
        return parse_urlencoded(body, max_fields, charset), RequestParameters()
    if kind == "multipart/form-data":
        from .multipart import MultipartLimits, parse_form

        return parse_form(body, content_type, MultipartLimits.from_config(config))
    return RequestParameters(), RequestParameters()
