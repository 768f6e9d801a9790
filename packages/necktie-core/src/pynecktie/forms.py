"""Buffered form bodies: ``application/x-www-form-urlencoded`` and ``multipart/form-data``.

What ``request.form`` and ``request.files`` parse, from a body already in memory (bounded by the route's
body limit). For uploads too large to hold, a ``stream=True`` route reads parts as they arrive with
``request.stream.multipart()`` (`pynecktie.multipart`). Both use python-multipart's parser; malformed
bodies raise `BadRequest`.
"""

from __future__ import annotations

from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from .exceptions import BadRequest


class RequestParameters(dict[str, list[str]]):
    """Query or form fields: ``get`` gives the first value, ``getlist`` all of them."""

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
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


def _options(value: bytes) -> tuple[str, dict[str, str]]:
    from python_multipart.multipart import parse_options_header

    main, params = parse_options_header(value)
    return main.decode("latin-1").lower(), {
        k.decode("latin-1").lower(): v.decode("utf-8", "replace") for k, v in params.items()
    }


class MultipartForm:
    """Parses a ``multipart/form-data`` body (fed in one or more pieces) into fields and `File` uploads."""

    def __init__(self, content_type: str, max_parts: int = 1000) -> None:
        from python_multipart.multipart import MultipartParser

        from .multipart import boundary_of

        self.fields = RequestParameters()
        self.files = RequestParameters()
        self.max_parts = max_parts
        self._parts = 0
        self._ended = False
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._data: list[bytes] = []
        self._parser = MultipartParser(
            boundary_of(content_type),
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
        )

    def _on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > self.max_parts:
            raise BadRequest(f"Too many multipart parts (more than {self.max_parts})")
        self._headers = {}
        self._data = []

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[bytes(self._header_name).decode("latin-1").strip().lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._data.append(data[start:end])

    def _on_part_end(self) -> None:
        disposition, params = _options(self._headers.get("content-disposition", b""))
        name = params.get("name")
        if disposition != "form-data" or name is None:
            raise BadRequest("Multipart part without a form-data Content-Disposition name")
        body = b"".join(self._data)
        self._data = []
        part_type, type_params = _options(self._headers.get("content-type", b""))
        if "filename" in params or "filename*" in params:
            filename = params.get("filename*", params.get("filename", ""))
            if filename.lower().startswith("utf-8''"):
                from urllib.parse import unquote

                filename = unquote(filename[7:])
            upload = File(part_type or "application/octet-stream", body, filename)
            self.files.setdefault(name, []).append(upload)
        else:
            charset = type_params.get("charset", "utf-8")
            try:
                value = body.decode(charset)
            except (UnicodeDecodeError, LookupError):
                raise BadRequest(f"Multipart field {name!r} is not valid {charset}") from None
            self.fields.setdefault(name, []).append(value)

    def _on_end(self) -> None:
        self._ended = True

    def feed(self, chunk: bytes) -> None:
        """Parse the next piece of the body."""
        from python_multipart.exceptions import FormParserError

        try:
            self._parser.write(chunk)
        except FormParserError as exc:
            raise BadRequest(f"Malformed multipart body: {exc}") from None

    def close(self) -> tuple[RequestParameters, RequestParameters]:
        """Finish: the fields and files; a body that stopped before its closing boundary is a 400."""
        if not self._ended:
            raise BadRequest("Malformed multipart body: it ends before its closing boundary")
        return self.fields, self.files


def parse_body(
    body: bytes, content_type: str, max_fields: int
) -> tuple[RequestParameters, RequestParameters]:
    """(fields, files) of a form body of *content_type*; other content types give two empty mappings."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        charset = _options(content_type.encode("latin-1", "replace"))[1].get("charset", "utf-8")
        return parse_urlencoded(body, max_fields, charset), RequestParameters()
    if kind == "multipart/form-data":
        reader = MultipartForm(content_type, max_fields)
        reader.feed(body)
        return reader.close()
    return RequestParameters(), RequestParameters()
