"""The router: static paths found by one dict lookup, dynamic ones by compiled patterns.

A path pattern is literal text with parameters: ``<name>``, ``<name:type>`` (``str``, ``int``, ``float``,
``path``, ``uuid``, ``slug``, ``alpha``) or ``<name:regex>``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .exceptions import MethodNotAllowed, NotFound

_PARAM = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)(?::([^>]+))?>")

# type name -> (regex, converter)
PARAM_TYPES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "str": (r"[^/]+", str),
    "int": (r"-?\d+", int),
    "float": (r"-?\d+(?:\.\d+)?", float),
    "path": (r".+", str),
    "uuid": (r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", uuid.UUID),
    "slug": (r"[a-z0-9]+(?:-[a-z0-9]+)*", str),
    "alpha": (r"[A-Za-z]+", str),
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_LIMIT: Any = object()


@dataclass(eq=False)
class Route:
    """One handler registered for a path and a set of methods."""

    path: str
    methods: frozenset[str]
    handler: Callable[..., Any]
    name: str
    stream: bool = False
    max_body_size: Any = _DEFAULT_LIMIT
    strict_slashes: bool = False
    host: str | None = None
    blueprint: Any = None
    websocket: bool = False
    ctx: dict[str, Any] = field(default_factory=dict)
    # Filled when the app is finalized: the middleware that applies to this route, in call order.
    request_middleware: tuple[Callable[..., Any], ...] = ()
    response_middleware: tuple[Callable[..., Any], ...] = ()
    params: tuple[tuple[str, Callable[[str], Any]], ...] = ()

    @property
    def uses_default_limit(self) -> bool:
        """True when the route keeps the app's ``REQUEST_MAX_SIZE``."""
        return self.max_body_size is _DEFAULT_LIMIT


class _Entry:
    """Every route registered at one path pattern, by method."""

    __slots__ = ("by_method", "allowed")

    def __init__(self) -> None:
        self.by_method: dict[str, Route] = {}
        self.allowed: frozenset[str] = frozenset()

    def add(self, route: Route) -> None:
        for method in route.methods:
            if method in self.by_method and self.by_method[method] is not route:
                raise ValueError(f"route {route.path!r} already has a handler for {method}")
            self.by_method[method] = route
        allowed = set(self.by_method)
        if "GET" in allowed:
            allowed.add("HEAD")
        allowed.add("OPTIONS")
        self.allowed = frozenset(allowed)

    def pick(self, method: str) -> Route:
        route = self.by_method.get(method)
        if route is None and method == "HEAD":
            route = self.by_method.get("GET")
        if route is None:
            raise MethodNotAllowed(f"Method {method} not allowed for URL", allowed=list(self.allowed))
        return route


def compile_pattern(path: str) -> tuple[re.Pattern[str] | None, tuple[tuple[str, Callable[[str], Any]], ...]]:
    """Compile a path pattern: ``(None, ())`` for a static path, else a regex and its converters."""
    if "<" not in path:
        return None, ()
    parts: list[str] = []
    params: list[tuple[str, Callable[[str], Any]]] = []
    pos = 0
    for m in _PARAM.finditer(path):
        parts.append(re.escape(path[pos:m.start()]))
        name, kind = m.group(1), m.group(2) or "str"
        regex, convert = PARAM_TYPES.get(kind, (kind, str))
        if kind not in PARAM_TYPES:
            re.compile(regex)  # a bad regex fails at registration, not per request
        parts.append(f"(?P<{name}>{regex})")
        params.append((name, convert))
        pos = m.end()
    parts.append(re.escape(path[pos:]))
    return re.compile("".join(parts) + r"\Z"), tuple(params)


def _first_segment(path: str) -> str | None:
    """The literal first segment of a pattern, or None when it starts with a parameter."""
    head = path[1:].split("/", 1)[0]
    return None if "<" in head else head


class Router:
    """Finds the route for a method and path; raises `NotFound` or `MethodNotAllowed`."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.names: dict[str, Route] = {}
        self._static: dict[tuple[str | None, str], _Entry] = {}
        # first literal segment -> [(regex, entry)]; key None holds patterns that start with a parameter
        self._dynamic: dict[tuple[str | None, str | None], list[tuple[re.Pattern[str], _Entry]]] = {}
        self._dynamic_entries: dict[tuple[str | None, str], _Entry] = {}
        self._hosts: set[str] = set()

    def add(self, route: Route) -> Route:
        """Register *route*; with ``strict_slashes`` off, the path with and without a trailing slash."""
        if route.name in self.names and self.names[route.name] is not route:
            raise ValueError(f"a route named {route.name!r} already exists")
        self.names[route.name] = route
        self.routes.append(route)
        if route.host:
            self._hosts.add(route.host.lower())
        paths = [route.path]
        if not route.strict_slashes and route.path != "/":
            alt = route.path[:-1] if route.path.endswith("/") else route.path + "/"
            paths.append(alt)
        for path in paths:
            regex, params = compile_pattern(path)
            route.params = params
            if regex is None:
                self._static.setdefault((route.host, path), _Entry()).add(route)
                continue
            entry = self._dynamic_entries.get((route.host, path))
            if entry is None:
                entry = self._dynamic_entries[(route.host, path)] = _Entry()
                bucket = self._dynamic.setdefault((route.host, _first_segment(path)), [])
                bucket.append((regex, entry))
            entry.add(route)
        return route

    def resolve(self, method: str, path: str, host: str | None = None) -> tuple[Route, dict[str, Any]]:
        """The route for *method* and *path* (and *host*, for host routes) with converted parameters."""
        if self._hosts and host is not None:
            hostname = host.lower()
            if hostname in self._hosts:
                found = self._find(method, path, hostname)
                if found is not None:
                    return found
        found = self._find(method, path, None)
        if found is None:
            raise NotFound(f"Requested URL {path} not found")
        return found

    def _find(self, method: str, path: str, host: str | None) -> tuple[Route, dict[str, Any]] | None:
        entry = self._static.get((host, path))
        if entry is not None:
            return entry.pick(method), {}
        first = path[1:].split("/", 1)[0]
        for key in ((host, first), (host, None)):
            for regex, entry in self._dynamic.get(key, ()):
                m = regex.match(path)
                if m is None:
                    continue
                route = entry.pick(method)
                values = m.groupdict()
                try:
                    return route, {name: convert(values[name]) for name, convert in route.params}
                except ValueError:
                    continue
        return None

    def url_for(self, name: str, **params: Any) -> str:
        """Build the path of the route called *name*; unused parameters become the query string."""
        route = self.names.get(name)
        if route is None:
            raise NotFound(f"no route named {name!r}")
        path = route.path

        def fill(m: re.Match[str]) -> str:
            key = m.group(1)
            if key not in params:
                raise ValueError(f"url_for({name!r}) needs a value for {key!r}")
            value = str(params.pop(key))
            return quote(value, safe="/" if m.group(2) == "path" else "")

        path = _PARAM.sub(fill, path)
        if params:
            path += "?" + "&".join(f"{quote(str(k))}={quote(str(v))}" for k, v in _flatten(params))
        return path


def _flatten(params: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    for key, value in params.items():
        if isinstance(value, (list, tuple)):
            for item in value:
                yield key, item
        else:
            yield key, value
