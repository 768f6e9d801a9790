"""Blueprints: a group of routes, middleware, error handlers and listeners registered on an app as one."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .registry import Registry, RouteSpec

if TYPE_CHECKING:
    from .app import Necktie


class Blueprint(Registry):
    """Routes and hooks under a name, an optional ``url_prefix``, ``version`` and ``host``.

    The same blueprint may be registered more than once, under different prefixes.
    """

    def __init__(
        self,
        name: str,
        url_prefix: str | None = None,
        host: str | None = None,
        version: int | str | None = None,
        strict_slashes: bool | None = None,
        version_prefix: str = "/v",
        compress: bool | None = None,
        cors: bool | Mapping[str, Any] | None = None,
    ) -> None:
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"a blueprint name is letters, digits, '_' and '-' only, not {name!r}")
        self.name = name
        self.version_prefix = version_prefix
        self.url_prefix = url_prefix
        self.host = host
        self.version = version
        self.strict_slashes = strict_slashes
        self.compress = compress  # None: as the app says (COMPRESSION); a route's own compress= wins
        self.cors = cors  # None: as the app says (CORS_*); False: off; a mapping overrides; a route's wins
        self.routes: list[RouteSpec] = []
        self.request_middleware: list[Callable[..., Any]] = []
        self.response_middleware: list[Callable[..., Any]] = []
        self.exception_handlers: list[tuple[tuple[type[BaseException], ...], Callable[..., Any]]] = []
        self.listeners: list[tuple[str, Callable[..., Any]]] = []
        self.registered_on: list[Necktie] = []

    def __repr__(self) -> str:
        return f"Blueprint(name={self.name!r}, url_prefix={self.url_prefix!r})"

    def _register_route(self, spec: RouteSpec) -> None:
        self.routes.append(spec)

    def _register_middleware(self, middleware: Callable[..., Any], attach_to: str) -> None:
        (self.request_middleware if attach_to == "request" else self.response_middleware).append(middleware)

    def _register_exception(
        self, exceptions: tuple[type[BaseException], ...], handler: Callable[..., Any]
    ) -> None:
        self.exception_handlers.append((exceptions, handler))

    def _register_listener(self, event: str, listener: Callable[..., Any]) -> None:
        self.listeners.append((event, listener))

    def specs_for(self, url_prefix: str | None = None, version: int | str | None = None) -> list[RouteSpec]:
        """This blueprint's routes with the prefix, version, host and slash policy it is registered with."""
        prefix = (url_prefix if url_prefix is not None else self.url_prefix) or ""
        version = version if version is not None else self.version
        out = []
        for spec in self.routes:
            uri = (prefix.rstrip("/") + spec.uri) if prefix else spec.uri
            out.append(
                replace(
                    spec,
                    uri=uri,
                    host=spec.host or self.host,
                    version=spec.version if spec.version is not None else version,
                    strict_slashes=(
                        spec.strict_slashes if spec.strict_slashes is not None else self.strict_slashes
                    ),
                    name=f"{self.name}.{spec.name or getattr(spec.handler, '__name__', 'handler')}",
                    version_prefix=spec.version_prefix
                    if spec.version_prefix != "/v"
                    else self.version_prefix,
                )
            )
        return out

    @staticmethod
    def group(
        *blueprints: Blueprint | BlueprintGroup,
        url_prefix: str | None = None,
        version: int | str | None = None,
    ) -> BlueprintGroup:
        """Group blueprints under one prefix and version."""
        return BlueprintGroup(blueprints, url_prefix=url_prefix, version=version)


class BlueprintGroup:
    """Several blueprints registered together, sharing a ``url_prefix`` and ``version``."""

    def __init__(
        self,
        blueprints: Iterable[Blueprint | BlueprintGroup] = (),
        url_prefix: str | None = None,
        version: int | str | None = None,
    ) -> None:
        self.url_prefix = url_prefix
        self.version = version
        self.blueprints: list[Blueprint | BlueprintGroup] = list(blueprints)

    def blueprints_flat(self) -> Iterator[Blueprint]:
        """Every blueprint in the group and its sub-groups."""
        for bp in self.blueprints:
            if isinstance(bp, BlueprintGroup):
                yield from bp.blueprints_flat()
            else:
                yield bp

    def middleware(self, middleware_or_type: Any = "request", attach_to: str = "request") -> Any:
        """Register middleware on every blueprint of the group (as `Registry.middleware`)."""
        if callable(middleware_or_type):
            for bp in self.blueprints_flat():
                bp.middleware(middleware_or_type, attach_to)
            return middleware_or_type

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            for bp in self.blueprints_flat():
                bp.middleware(fn, middleware_or_type)
            return fn

        return decorator

    def on_request(self, middleware: Any = None) -> Any:
        """Register request middleware on every blueprint of the group."""
        if middleware is None:
            return self.on_request
        return self.middleware(middleware, "request")

    def on_response(self, middleware: Any = None) -> Any:
        """Register response middleware on every blueprint of the group."""
        if middleware is None:
            return self.on_response
        return self.middleware(middleware, "response")

    def exception(self, *exceptions: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register an exception handler on every blueprint of the group."""

        def decorator(handler: Callable[..., Any]) -> Callable[..., Any]:
            for bp in self.blueprints_flat():
                bp.exception(*exceptions)(handler)
            return handler

        return decorator

    def append(self, blueprint: Blueprint | BlueprintGroup) -> None:
        """Add a blueprint to the group."""
        self.blueprints.append(blueprint)

    def __iter__(self) -> Iterator[Blueprint | BlueprintGroup]:
        return iter(self.blueprints)

    def flatten(
        self, prefix: str = "", version: int | str | None = None
    ) -> Iterator[tuple[Blueprint, str, Any]]:
        """Each blueprint inside, with the prefix and version it is registered under."""
        prefix = prefix.rstrip("/") + (self.url_prefix or "")
        version = self.version if self.version is not None else version
        for bp in self.blueprints:
            if isinstance(bp, BlueprintGroup):
                yield from bp.flatten(prefix, version)
            else:
                own_version = bp.version if bp.version is not None else version
                yield bp, prefix.rstrip("/") + (bp.url_prefix or ""), own_version
