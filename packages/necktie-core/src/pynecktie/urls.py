"""``url_for``: the path of a named route, its parameters checked against their types and quoted."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from .exceptions import ServerError

if TYPE_CHECKING:
    from .route import Route


class URLBuildError(ServerError):
    """``url_for`` could not build a URL: unknown name, missing parameter, or a value its type refuses."""


def build_url(route: Route, name: str, params: dict[str, Any]) -> str:
    """The URL of *route* (called *name*) with *params*; those not in its path become the query string.

    Special keywords: ``_anchor`` (a fragment), ``_external`` with ``_scheme`` and ``_server`` (an
    absolute URL). A value its parameter's type would not match raises `URLBuildError`.
    """
    anchor = params.pop("_anchor", None)
    external = params.pop("_external", False)
    scheme = params.pop("_scheme", "")
    server = params.pop("_server", None)
    params.pop("_method", None)
    path = route.path
    pattern = route.pattern
    if pattern is not None:
        pieces = ["/"]
        for token in pattern.tokens:
            if isinstance(token, str):
                pieces.append(token)
                continue
            if token.name not in params:
                raise URLBuildError(f"url_for({name!r}) needs a value for {token.name!r}")
            kind = token.type
            value = kind.to_string(params.pop(token.name))
            if not kind.compiled.fullmatch(value):
                raise URLBuildError(
                    f"url_for({name!r}): {value!r} is not a valid {token.kind} for {token.name!r}"
                )
            pieces.append(quote(value, safe="/" if kind.spans_segments else ""))
        path = "".join(pieces)
    if params:
        path += "?" + urlencode(list(_flatten(params)))
    if anchor is not None:
        path += "#" + quote(str(anchor))
    if external or scheme or server:
        host = server or route.host or ""
        if not host:
            raise URLBuildError("url_for(_external=True) needs _server or the SERVER_NAME setting")
        if "://" in host:
            scheme, host = host.split("://", 1)
        path = f"{scheme or 'http'}://{host.rstrip('/')}{path}"
    return path


def _flatten(params: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    for key, value in params.items():
        if isinstance(value, (list, tuple)):
            for item in value:
                yield key, item
        else:
            yield key, value
