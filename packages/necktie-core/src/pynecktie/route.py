"""What the router stores: a `Route` (a handler for a path and methods), and the `Entry` of every route
registered at one path pattern, which picks the route for a method."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .patterns import Pattern

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
    compression: Any = None  # the route's `Compression` when its responses may be compressed, else None
    cors: Any = None  # the route's `CorsPolicy` when it answers cross-origin requests, else None
    # Filled by the router: (name, convert) per parameter in path order, and the parsed pattern (url_for).
    params: tuple[tuple[str, Callable[[str], Any]], ...] = ()
    pattern: Pattern | None = None
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


class Entry:
    """Every route registered at one path pattern (and host), by method."""

    __slots__ = ("by_method", "allowed", "allow_header", "options_route")

    def __init__(self) -> None:
        self.by_method: dict[str, Route] = {}
        self.allowed: tuple[str, ...] = ()
        self.allow_header = ""
        self.options_route: Route | None = None

    def add(self, route: Route) -> None:
        """Serve *route*'s methods here; a method that already has another route is a `ValueError`."""
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


def _asterisk_options(request: Any, **_: Any) -> Any:
    from .response import HTTPResponse

    return HTTPResponse(b"", 204, {"Allow": "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"})


# ``OPTIONS *`` asks about the server as a whole.
ASTERISK_ROUTE = Route(
    path="*",
    methods=frozenset({"OPTIONS"}),
    handler=_asterisk_options,
    name="__options_asterisk__",
    automatic=True,
)
