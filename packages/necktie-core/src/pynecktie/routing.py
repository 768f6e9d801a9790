"""The router: static paths found by one dict lookup, dynamic ones by walking a segment trie.

A path pattern is literal text with parameters: ``<name>``, ``<name:type>`` (``str``, ``int``, ``float``,
``path``, ``uuid``, ``slug``, ``alpha``, ``ext``, or a type registered with `Router.register_type`) or
``<name:regex>``. A parameter matches inside one path segment, except ``path``, which may span several.

Dynamic patterns share a trie of segments (`pynecktie.trie`): literal segments are dict lookups, parameter
edges are tried with precompiled per-type regexes, and only a failed branch backtracks — so resolving a path
costs a few steps however many routes there are, including routes that start with a parameter. Where several
patterns could match, literal segments win over parameters, then the more specific parameter type (``int``
before ``str``, ``path`` last), then the earlier registration — decided segment by segment from the left.
Patterns are parsed once, by `pynecktie.patterns`; `pynecktie.urls` builds URLs back from them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .exceptions import MethodNotAllowed, NotFound
from .patterns import BUILTIN_TYPES, REGEX_RANK, TYPE_NAME, ParamType, parse
from .route import _DEFAULT_LIMIT, ASTERISK_ROUTE, Entry, Route
from .trie import Node, insert, walk
from .urls import URLBuildError, build_url

__all__ = ["Route", "Router", "URLBuildError", "ParamType", "_DEFAULT_LIMIT"]


class Router:
    """Finds the route for a method and path; raises `NotFound` or `MethodNotAllowed`.

    Static paths are one dict lookup. Dynamic patterns live in a segment trie: a lookup follows literal
    segments by dict, tries parameter edges (most specific type first) by precompiled per-type regexes,
    and backtracks only where an edge fails — so thousands of routes cost a handful of steps each.
    """

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.names: dict[str, Route] = {}
        self.types: dict[str, ParamType] = dict(BUILTIN_TYPES)
        # host (None for any) -> path -> entry
        self._static: dict[str | None, dict[str, Entry]] = {None: {}}
        self._static_any = self._static[None]
        self._tries: dict[str | None, Node] = {}
        self._dynamic_entries: dict[tuple[str | None, str], Entry] = {}
        self._hosts: set[str] = set()
        self._order = 0
        self._regexes_used: set[str] = set()

    @property
    def has_hosts(self) -> bool:
        """True when some route is bound to a host (so resolving needs the request's host)."""
        return bool(self._hosts)

    def register_type(
        self,
        name: str,
        pattern: str,
        convert: Callable[[str], Any] = str,
        *,
        to_string: Callable[[Any], str] = str,
        rank: int = REGEX_RANK,
        schema: dict[str, Any] | None = None,
    ) -> ParamType:
        """Let patterns say ``<param:name>``: a value matching the regex *pattern* (inside one path segment)
        reaches the handler as ``convert(value)``.

        *convert* raising ``ValueError`` makes the path a 404, as a value the regex refuses does.
        ``url_for`` renders a value with *to_string* and checks it against *pattern*. *rank* orders
        competing patterns at one segment (lower first: ``int`` and ``uuid`` are 1, ``float`` 2, ``slug``
        3, regexes and registered types 4, ``str`` 5; equal ranks go to the earlier route). Register a type
        before adding routes that use it; a name already taken (``int``...) is a `ValueError`. *schema* is
        the parameter's JSON Schema in ``app.openapi()`` (default: an integer, number or uuid when *convert*
        is ``int``, ``float`` or ``uuid.UUID``, else a string matching *pattern*).
        """
        if not TYPE_NAME.match(name):
            raise ValueError(f"a parameter type's name is an identifier, not {name!r}")
        if name in self.types:
            raise ValueError(f"the parameter type {name!r} exists already")
        if name in self._regexes_used:
            raise ValueError(f"routes already use {name!r} as a regex: register the type before adding them")
        param_type = self.types[name] = ParamType(name, pattern, convert, to_string, rank, schema=schema)
        return param_type

    def add(self, route: Route) -> Route:
        """Register *route*; with ``strict_slashes`` off, the path with and without a trailing slash."""
        host = route.host.lower() if route.host else None
        named = self.names.get(route.name)
        if named is not None and named is not route and (named.path, named.host) != (route.path, host):
            raise ValueError(f"a route named {route.name!r} already exists at {named.path!r}")
        path = route.path
        if not path.startswith("/"):
            raise ValueError(f"a route path starts with '/': {path!r}")
        route.host = host
        both = not route.strict_slashes and path != "/"
        other = path[:-1] if path.endswith("/") else path + "/"
        entries: list[Entry] = []
        if "<" not in path:
            static = self._static.setdefault(host, {})
            for variant in (path, other) if both else (path,):
                entries.append(static.setdefault(variant, Entry()))
        else:
            pattern = parse(path, self.types)
            route.params = pattern.converters
            route.pattern = pattern
            self._regexes_used.update(p.kind for p in pattern.params.values() if p.kind not in self.types)
            variants: list[tuple[str, bool | None]] = [(path, None)]
            if both:
                variants.append((other, not path.endswith("/")))
            for variant, slash in variants:
                entry = self._dynamic_entries.get((host, variant))
                if entry is None:
                    root = self._tries.setdefault(host, Node())
                    entry, self._order = insert(root, pattern.segments(slash), self._order, Entry)
                    self._dynamic_entries[(host, variant)] = entry
                entries.append(entry)
        for entry in entries:
            entry.add(route)
        # Several routes at one path may share a name (a view's methods): url_for builds the same path.
        self.names.setdefault(route.name, route)
        self.routes.append(route)
        if host:
            self._hosts.add(host)
        return route

    def all_routes(self) -> list[Route]:
        """Every route, the automatic OPTIONS ones included (for finalizing middleware chains)."""
        seen: dict[int, Route] = {}
        for entry in self.entries():
            for r in entry.routes():
                seen[id(r)] = r
        return list(seen.values())

    def entries(self) -> list[Entry]:
        """Every path's `Entry` (its routes by method), static and dynamic, each host's included."""
        found = [entry for entries in self._static.values() for entry in entries.values()]
        return found + list(self._dynamic_entries.values())

    def methods_at(self, path: str, host: str | None = None) -> tuple[str, ...]:
        """The methods *path* is served for (``HEAD`` with ``GET``, and ``OPTIONS``), as a 405 lists them;
        empty when nothing is served there."""
        try:
            self.resolve("", path, host)  # no route serves the empty method: the router says what does
        except MethodNotAllowed as refused:
            return tuple(refused.allowed)
        except NotFound:
            pass
        return ()

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
                return ASTERISK_ROUTE, {}
            raise NotFound(f"Requested URL {path} not found")
        return found

    def _find(self, method: str, path: str, host: str | None) -> tuple[Route, dict[str, Any]] | None:
        """Search one host's routes; raises `MethodNotAllowed` only when nothing serves *method*."""
        static = self._static.get(host)
        refused: list[Entry] = []
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
            found = walk(trie, path.split("/"), 1, path, method, values, refused)
            if found is not None:
                try:
                    pairs = zip(found.params, values, strict=True)
                    return found, {name: convert(v) for (name, convert), v in pairs}
                except ValueError:
                    pass
        if refused:
            raise MethodNotAllowed(
                f"Method {method} not allowed for URL {path}", allowed=list(refused[0].allowed)
            )
        return None

    def url_for(self, name: str, **params: Any) -> str:
        """Build the path of the route called *name*; parameters not in the path become the query string.

        Special keywords: ``_anchor`` (a fragment), ``_external`` with ``_scheme`` and ``_server`` (an
        absolute URL). A value the parameter's type would not match raises `URLBuildError`.
        """
        route = self.names.get(name)
        if route is None:
            raise URLBuildError(f"no route named {name!r}")
        return build_url(route, name, params)
