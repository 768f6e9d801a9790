"""The router: static paths found by one dict lookup, dynamic ones by walking a segment trie.

A path pattern is literal text with parameters: ``<name>``, ``<name:type>`` (``str``, ``int``, ``float``,
``path``, ``uuid``, ``slug``, ``alpha``, ``ext``) or ``<name:regex>``. A parameter matches inside one path
segment, except ``path``, which may span several.

Dynamic patterns share a trie of segments: literal segments are dict lookups, parameter edges are tried
with precompiled per-type regexes, and only a failed branch backtracks — so resolving a path costs a few
steps however many routes there are, including routes that start with a parameter. Where several patterns
could match, literal segments win over parameters, then the more specific parameter type (``int`` before
``str``, ``path`` last), then the earlier registration — decided segment by segment from the left.
"""

from __future__ import annotations

import bisect
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from .exceptions import MethodNotAllowed, NotFound, ServerError

_PARAM = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)(?::((?:[^<>]|<[^<>]*>)+))?>")

# type name -> (regex, converter, rank: lower ranks are tried first)
PARAM_TYPES: dict[str, tuple[str, Callable[[str], Any], int]] = {
    "int": (r"-?[0-9]+", int, 1),
    "float": (r"-?[0-9]+(?:\.[0-9]+)?", float, 2),
    "uuid": (r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", uuid.UUID, 1),
    "slug": (r"[a-z0-9]+(?:-[a-z0-9]+)*", str, 3),
    "alpha": (r"[A-Za-z]+", str, 3),
    "ext": (r"[^/]+\.[A-Za-z0-9]+", str, 3),
    "str": (r"[^/]+", str, 5),
    "path": (r"(?s:.+)", str, 6),
}
_REGEX_RANK = 4
_LITERAL_RANK = 0
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_LIMIT: Any = object()


class URLBuildError(ServerError):
    """``url_for`` could not build a URL: unknown name, missing parameter, or a value its type refuses."""


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
    # name -> (type name, full-match regex) for url_for's checks
    param_checks: dict[str, tuple[str, re.Pattern[str]]] = field(default_factory=dict)
    automatic: bool = False

    @property
    def uses_default_limit(self) -> bool:
        """True when the route keeps the app's ``REQUEST_MAX_SIZE``."""
        return self.max_body_size is _DEFAULT_LIMIT

    def __repr__(self) -> str:
        return f"<Route {self.name!r} {self.path!r} {sorted(self.methods)}>"

    @property
    def uri(self) -> str:
        """The path pattern (an alias of ``path``)."""
        return self.path


def _allow_handler(allow: str) -> Callable[..., Any]:
    from .response import HTTPResponse

    def options(request: Any, **_: Any) -> Any:
        return HTTPResponse(b"", 204, {"Allow": allow})

    return options


class _Entry:
    """Every route registered at one path pattern (and host), by method."""

    __slots__ = ("by_method", "allowed", "allow_header", "options_route")

    def __init__(self) -> None:
        self.by_method: dict[str, Route] = {}
        self.allowed: tuple[str, ...] = ()
        self.allow_header = ""
        self.options_route: Route | None = None

    def add(self, route: Route) -> None:
        for method in route.methods:
            if method in self.by_method and self.by_method[method] is not route:
                raise ValueError(f"route {route.path!r} already has a handler for {method}")
        for method in route.methods:
            self.by_method[method] = route
        allowed = set(self.by_method)
        if "GET" in allowed:
            allowed.add("HEAD")
        allowed.add("OPTIONS")
        self.allowed = tuple(sorted(allowed))
        self.allow_header = ", ".join(self.allowed)
        if "OPTIONS" in self.by_method:
            self.options_route = None
            return
        # The automatic OPTIONS answer lists what the path allows; it runs the first route's middleware.
        first = next(iter(self.by_method.values()))
        self.options_route = Route(
            path=first.path,
            methods=frozenset({"OPTIONS"}),
            handler=_allow_handler(self.allow_header),
            name=f"{first.name}.__options__",
            strict_slashes=first.strict_slashes,
            host=first.host,
            blueprint=first.blueprint,
            params=first.params,
            automatic=True,
        )

    def pick(self, method: str) -> Route | None:
        """The route serving *method* here (GET serves HEAD; OPTIONS is automatic), or None."""
        route = self.by_method.get(method)
        if route is not None:
            return route
        if method == "HEAD":
            return self.by_method.get("GET")
        if method == "OPTIONS":
            return self.options_route
        return None

    def routes(self) -> list[Route]:
        """The distinct routes here, the automatic OPTIONS one included."""
        seen: dict[int, Route] = {id(r): r for r in self.by_method.values()}
        if self.options_route is not None:
            seen[id(self.options_route)] = self.options_route
        return list(seen.values())


@dataclass
class _Segment:
    """One segment of a pattern: literal text, a parameter, several parameters in text, or a ``path`` tail."""

    kind: str  # "literal", "param", "mixed" or "tail"
    key: str  # what identifies the edge in the trie (parameter names left out)
    regex: re.Pattern[str] | None = None
    rank: int = _LITERAL_RANK
    params: tuple[tuple[str, Callable[[str], Any]], ...] = ()


_TYPE_REGEXES: dict[str, re.Pattern[str]] = {kind: re.compile(spec[0]) for kind, spec in PARAM_TYPES.items()}


def split_pattern(path: str) -> list[str]:
    """The segments of a pattern after its leading slash, not splitting inside ``<...>``."""
    segments: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in path[1:]:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(0, depth - 1)
        if ch == "/" and depth == 0:
            segments.append("".join(current))
            current = []
        else:
            current.append(ch)
    segments.append("".join(current))
    return segments


def _param(name: str, kind: str, where: str) -> tuple[str, Callable[[str], Any], int]:
    known = PARAM_TYPES.get(kind)
    if known is not None:
        return known[0], known[1], known[2]
    try:
        re.compile(kind)  # a bad regex fails at registration, not per request
    except re.error as exc:
        raise ValueError(f"invalid regex {kind!r} for parameter {name!r} in {where!r}: {exc}") from None
    return kind, str, _REGEX_RANK


def parse_pattern(path: str) -> list[_Segment]:
    """Compile a path pattern into segments (the last one may be a ``path`` tail spanning the rest)."""
    segments = split_pattern(path)
    out: list[_Segment] = []
    seen: set[str] = set()
    for index, seg in enumerate(segments):
        if "<" not in seg:
            out.append(_Segment("literal", seg))
            continue
        matches = list(_PARAM.finditer(seg))
        for m in matches:
            if m.group(1) in seen:
                raise ValueError(f"parameter {m.group(1)!r} appears twice in {path!r}")
            seen.add(m.group(1))
        if any((m.group(2) or "str") == "path" for m in matches):
            # A path parameter spans segments: the rest of the pattern is one regex on the rest of the path.
            rest = "/".join(segments[index:])
            parts, params, pos = [], [], 0
            for m in _PARAM.finditer(rest):
                parts.append(re.escape(rest[pos : m.start()]))
                regex, convert, _ = _param(m.group(1), m.group(2) or "str", path)
                parts.append(f"(?P<_{len(params)}>{regex})")
                params.append((m.group(1), convert))
                pos = m.end()
            parts.append(re.escape(rest[pos:]))
            seen.update(m.group(1) for m in _PARAM.finditer(rest))
            key = _PARAM.sub(lambda m: f"<:{m.group(2) or 'str'}>", rest)
            tail = re.compile("".join(parts))
            out.append(_Segment("tail", key, tail, PARAM_TYPES["path"][2], tuple(params)))
            return out
        if len(matches) == 1 and matches[0].span() == (0, len(seg)):
            m = matches[0]
            kind = m.group(2) or "str"
            regex, convert, rank = _param(m.group(1), kind, path)
            compiled = _TYPE_REGEXES.get(kind) or re.compile(regex)
            out.append(_Segment("param", f"<:{kind}>", compiled, rank, ((m.group(1), convert),)))
            continue
        parts, params, pos = [], [], 0
        for m in matches:
            parts.append(re.escape(seg[pos : m.start()]))
            regex, convert, _ = _param(m.group(1), m.group(2) or "str", path)
            parts.append(f"(?P<_{len(params)}>{regex})")
            params.append((m.group(1), convert))
            pos = m.end()
        parts.append(re.escape(seg[pos:]))
        key = _PARAM.sub(lambda m: f"<:{m.group(2) or 'str'}>", seg)
        out.append(_Segment("mixed", key, re.compile("".join(parts)), _REGEX_RANK, tuple(params)))
    return out


class _Node:
    """A trie node: literal children, parameter edges (most specific first), ``path`` tails, and the
    entry of the patterns that end here."""

    __slots__ = ("children", "edges", "edge_keys", "tails", "entry")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        # (rank, order, regex, multi-valued, child), sorted by (rank, order)
        self.edges: list[tuple[int, int, re.Pattern[str], bool, _Node]] = []
        self.edge_keys: dict[str, _Node] = {}
        # (rank, order, regex on the rest of the path, entry)
        self.tails: list[tuple[int, int, re.Pattern[str], _Entry]] = []
        self.entry: _Entry | None = None


def _precedence(item: tuple[Any, ...]) -> tuple[int, int]:
    return item[0], item[1]


class Router:
    """Finds the route for a method and path; raises `NotFound` or `MethodNotAllowed`.

    Static paths are one dict lookup. Dynamic patterns live in a segment trie: a lookup follows literal
    segments by dict, tries parameter edges (most specific type first) by precompiled per-type regexes,
    and backtracks only where an edge fails — so thousands of routes cost a handful of steps each.
    """

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.names: dict[str, Route] = {}
        # host (None for any) -> path -> entry
        self._static: dict[str | None, dict[str, _Entry]] = {None: {}}
        self._static_any = self._static[None]
        self._tries: dict[str | None, _Node] = {}
        self._dynamic_entries: dict[tuple[str | None, str], _Entry] = {}
        self._hosts: set[str] = set()
        self._order = 0

    @property
    def has_hosts(self) -> bool:
        """True when some route is bound to a host (so resolving needs the request's host)."""
        return bool(self._hosts)

    def add(self, route: Route) -> Route:
        """Register *route*; with ``strict_slashes`` off, the path with and without a trailing slash."""
        host = route.host.lower() if route.host else None
        named = self.names.get(route.name)
        if named is not None and named is not route and (named.path, named.host) != (route.path, host):
            raise ValueError(f"a route named {route.name!r} already exists at {named.path!r}")
        if not route.path.startswith("/"):
            raise ValueError(f"a route path starts with '/': {route.path!r}")
        route.host = host
        paths = [route.path]
        if not route.strict_slashes and route.path != "/":
            paths.append(route.path[:-1] if route.path.endswith("/") else route.path + "/")
        entries: list[_Entry] = []
        for path in paths:
            if "<" not in path:
                entries.append(self._static.setdefault(host, {}).setdefault(path, _Entry()))
                continue
            segments = parse_pattern(path)
            if path is route.path:
                route.params = tuple(p for seg in segments for p in seg.params)
                route.param_checks = {
                    m.group(1): (
                        m.group(2) or "str",
                        _TYPE_REGEXES.get(m.group(2) or "str") or re.compile(m.group(2)),
                    )
                    for m in _PARAM.finditer(path)
                }
            entry = self._dynamic_entries.get((host, path))
            if entry is None:
                entry = self._dynamic_entries[(host, path)] = self._insert(host, segments)
            entries.append(entry)
        for entry in entries:
            entry.add(route)
        # Several routes at one path may share a name (a view's methods): url_for builds the same path.
        self.names.setdefault(route.name, route)
        self.routes.append(route)
        if host:
            self._hosts.add(host)
        return route

    def _insert(self, host: str | None, segments: list[_Segment]) -> _Entry:
        node = self._tries.setdefault(host, _Node())
        for seg in segments:
            self._order += 1
            if seg.kind == "literal":
                node = node.children.setdefault(seg.key, _Node())
            elif seg.kind == "tail":
                entry = _Entry()
                bisect.insort(node.tails, (seg.rank, self._order, seg.regex, entry), key=_precedence)
                return entry
            else:
                child = node.edge_keys.get(seg.key)
                if child is None:
                    child = node.edge_keys[seg.key] = _Node()
                    edge = (seg.rank, self._order, seg.regex, seg.kind == "mixed", child)
                    bisect.insort(node.edges, edge, key=_precedence)
                node = child
        if node.entry is None:
            node.entry = _Entry()
        return node.entry

    def all_routes(self) -> list[Route]:
        """Every route, the automatic OPTIONS ones included (for finalizing middleware chains)."""
        seen: dict[int, Route] = {}
        for entries in self._static.values():
            for entry in entries.values():
                for r in entry.routes():
                    seen[id(r)] = r
        for entry in self._dynamic_entries.values():
            for r in entry.routes():
                seen[id(r)] = r
        return list(seen.values())

    def resolve(self, method: str, path: str, host: str | None = None) -> tuple[Route, dict[str, Any]]:
        """The route for *method* and *path* (and *host*, for host routes) with converted parameters."""
        if not self._hosts:
            entry = self._static_any.get(path)
            if entry is not None:
                route = entry.by_method.get(method)
                if route is not None:
                    return route, {}
        elif host:
            hostname = host.lower()
            if hostname not in self._hosts:
                hostname = hostname.rsplit(":", 1)[0] if not hostname.endswith("]") else hostname
            if hostname in self._hosts:
                try:
                    found = self._find(method, path, hostname)
                except MethodNotAllowed as refused:
                    # the host's route does not serve this method: a route for any host still may
                    try:
                        found = self._find(method, path, None)
                    except MethodNotAllowed:
                        found = None
                    if found is None:
                        raise refused from None
                if found is not None:
                    return found
        found = self._find(method, path, None)
        if found is None:
            if path == "*" and method == "OPTIONS":
                return _ASTERISK_ROUTE, {}
            raise NotFound(f"Requested URL {path} not found")
        return found

    def _find(self, method: str, path: str, host: str | None) -> tuple[Route, dict[str, Any]] | None:
        """Search one host's routes; raises `MethodNotAllowed` only when nothing serves *method*."""
        static = self._static.get(host)
        refused: list[_Entry] = []
        if static:
            entry = static.get(path)
            if entry is not None:
                route = entry.pick(method)
                if route is not None:
                    return route, {}
                refused.append(entry)
        trie = self._tries.get(host)
        if trie is not None and path[:1] == "/":
            values: list[str] = []
            found = _walk(trie, path.split("/"), 1, path, method, values, refused)
            if found is not None:
                try:
                    pairs = zip(found.params, values, strict=True)
                    return found, {name: convert(v) for (name, convert), v in pairs}
                except ValueError:
                    pass
        if refused:
            raise MethodNotAllowed(f"Method {method} not allowed for URL {path}", allowed=refused[0].allowed)
        return None

    def url_for(self, name: str, **params: Any) -> str:
        """Build the path of the route called *name*; parameters not in the path become the query string.

        Special keywords: ``_anchor`` (a fragment), ``_external`` with ``_scheme`` and ``_server`` (an
        absolute URL). A value the parameter's type would not match raises `URLBuildError`.
        """
        route = self.names.get(name)
        if route is None:
            raise URLBuildError(f"no route named {name!r}")
        anchor = params.pop("_anchor", None)
        external = params.pop("_external", False)
        scheme = params.pop("_scheme", "")
        server = params.pop("_server", None)
        params.pop("_method", None)

        def fill(m: re.Match[str]) -> str:
            key = m.group(1)
            if key not in params:
                raise URLBuildError(f"url_for({name!r}) needs a value for {key!r}")
            value = str(params.pop(key))
            kind, check = route.param_checks.get(key, ("str", None))  # type: ignore[assignment]
            if check is not None and not check.fullmatch(value):
                raise URLBuildError(f"url_for({name!r}): {value!r} is not a valid {kind} for {key!r}")
            return quote(value, safe="/" if kind == "path" else "")

        path = _PARAM.sub(fill, route.path)
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


def _asterisk_options(request: Any, **_: Any) -> Any:
    from .response import HTTPResponse

    return HTTPResponse(b"", 204, {"Allow": "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"})


# ``OPTIONS *`` asks about the server as a whole.
_ASTERISK_ROUTE = Route(
    path="*",
    methods=frozenset({"OPTIONS"}),
    handler=_asterisk_options,
    name="__options_asterisk__",
    automatic=True,
)


def _walk(
    node: _Node, segments: list[str], i: int, path: str, method: str, values: list[str], refused: list[_Entry]
) -> Route | None:
    """Depth-first search of the trie from *node* at ``segments[i]``, collecting parameter values."""
    if i == len(segments):
        entry = node.entry
        if entry is None:
            return None
        route = entry.pick(method)
        if route is None:
            refused.append(entry)
        return route
    seg = segments[i]
    child = node.children.get(seg)
    if child is not None:
        found = _walk(child, segments, i + 1, path, method, values, refused)
        if found is not None:
            return found
    if seg:
        for _, _, regex, multi, child in node.edges:
            m = regex.fullmatch(seg)
            if m is None:
                continue
            mark = len(values)
            if multi:
                values.extend(_values(m))
            else:
                values.append(seg)
            found = _walk(child, segments, i + 1, path, method, values, refused)
            if found is not None:
                return found
            del values[mark:]
    if node.tails:
        rest = "/".join(segments[i:])
        for _, _, regex, entry in node.tails:
            m = regex.fullmatch(rest)
            if m is None:
                continue
            route = entry.pick(method)
            if route is None:
                refused.append(entry)
                continue
            values.extend(_values(m))
            return route
    return None


def _values(m: re.Match[str]) -> list[str]:
    """The parameter values of a mixed segment or tail (groups ``_0``, ``_1``...; a user regex's own
    groups are ignored)."""
    return [m.group(f"_{i}") for i in range(len(m.re.groupindex)) if f"_{i}" in m.re.groupindex]
