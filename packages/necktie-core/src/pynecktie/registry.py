"""Decorators shared by `Necktie` and `Blueprint`: routes, middleware, exception handlers and listeners.

Each registration becomes a plain record; the app applies its own at once and a blueprint's when the
blueprint is registered (with its prefix, version and host).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .route import _DEFAULT_LIMIT
from .websocket import WebSocketEndpoint

H = TypeVar("H", bound=Callable[..., Any])

LISTENER_EVENTS = frozenset(
    {
        "before_server_start",
        "after_server_start",
        "before_server_stop",
        "after_server_stop",
        "main_process_start",
        "main_process_stop",
        "reload_process_start",
        "reload_process_stop",
    }
)
_STREAM_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass
class RouteSpec:
    """A route as declared, before prefixes and versions are applied."""

    handler: Callable[..., Any]
    uri: str
    methods: frozenset[str]
    host: str | list[str] | None = None
    strict_slashes: bool | None = None
    stream: bool = False
    version: int | str | None = None
    name: str | None = None
    max_body_size: Any = _DEFAULT_LIMIT
    websocket: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    version_prefix: str = "/v"


class Registry:
    """Route, middleware, exception-handler and listener registration; subclasses decide what to do."""

    def _register_route(self, spec: RouteSpec) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _register_middleware(self, middleware: Callable[..., Any], attach_to: str) -> None:
        raise NotImplementedError

    def _register_exception(
        self, exceptions: tuple[type[BaseException], ...], handler: Callable[..., Any]
    ) -> None:
        raise NotImplementedError

    def _register_listener(self, event: str, listener: Callable[..., Any]) -> None:
        raise NotImplementedError

    # -- routes ---------------------------------------------------------------------------------------
    def route(
        self,
        uri: str,
        methods: Iterable[str] = ("GET",),
        *,
        host: str | list[str] | None = None,
        strict_slashes: bool | None = None,
        stream: bool = False,
        version: int | str | None = None,
        name: str | None = None,
        max_body_size: Any = _DEFAULT_LIMIT,
        version_prefix: str = "/v",
        **extra: Any,
    ) -> Callable[[H], H]:
        """Register the decorated handler for *uri* and *methods*.

        *host* binds the route to a ``Host`` (or a list of them); *version* prefixes the path with
        ``{version_prefix}{version}`` (``/v1/...``); *name* is what `url_for` knows it by (default: the
        handler's name); *strict_slashes* False (the default) serves the path with and without a trailing
        slash; *stream* hands the body over chunk by chunk (``request.stream``).
        """
        method_set = frozenset(m.upper() for m in ([methods] if isinstance(methods, str) else methods))
        if stream and not method_set & _STREAM_METHODS:
            raise ValueError("stream=True is only for POST, PUT and PATCH routes")
        if not uri.startswith("/"):
            uri = "/" + uri

        def decorator(handler: H) -> H:
            self._register_route(
                RouteSpec(
                    handler,
                    uri,
                    method_set,
                    host,
                    strict_slashes,
                    stream or getattr(handler, "is_stream", False),
                    version,
                    name,
                    max_body_size,
                    extra=extra,
                    version_prefix=version_prefix,
                )
            )
            return handler

        return decorator

    def get(self, uri: str, **kwargs: Any) -> Callable[[H], H]:
        """Register a GET route (HEAD is answered by it too)."""
        return self.route(uri, ("GET",), **kwargs)

    def post(self, uri: str, *, stream: bool = False, **kwargs: Any) -> Callable[[H], H]:
        """Register a POST route; ``stream=True`` hands the body over chunk by chunk."""
        return self.route(uri, ("POST",), stream=stream, **kwargs)

    def put(self, uri: str, *, stream: bool = False, **kwargs: Any) -> Callable[[H], H]:
        """Register a PUT route; ``stream=True`` hands the body over chunk by chunk."""
        return self.route(uri, ("PUT",), stream=stream, **kwargs)

    def patch(self, uri: str, *, stream: bool = False, **kwargs: Any) -> Callable[[H], H]:
        """Register a PATCH route; ``stream=True`` hands the body over chunk by chunk."""
        return self.route(uri, ("PATCH",), stream=stream, **kwargs)

    def delete(self, uri: str, **kwargs: Any) -> Callable[[H], H]:
        """Register a DELETE route."""
        return self.route(uri, ("DELETE",), **kwargs)

    def head(self, uri: str, **kwargs: Any) -> Callable[[H], H]:
        """Register a HEAD route."""
        return self.route(uri, ("HEAD",), **kwargs)

    def options(self, uri: str, **kwargs: Any) -> Callable[[H], H]:
        """Register an OPTIONS route."""
        return self.route(uri, ("OPTIONS",), **kwargs)

    def add_route(
        self,
        handler: Callable[..., Any],
        uri: str,
        methods: Iterable[str] = ("GET",),
        **kwargs: Any,
    ) -> Callable[..., Any]:
        """Register *handler* (a function, ``HTTPMethodView.as_view()`` or a `CompositionView`) at *uri*.

        Views register one route per method they define, each streaming if that method was declared so.
        """
        per_method: dict[str, tuple[Callable[..., Any], bool]] | None = getattr(
            handler, "method_handlers", None
        )
        if per_method is None:
            self.route(uri, methods, **kwargs)(handler)
            return handler
        kwargs.pop("stream", None)
        for method, (_, is_stream) in per_method.items():
            self.route(uri, (method,), stream=is_stream, **kwargs)(handler)
        return handler

    def websocket(
        self,
        uri: str,
        *,
        host: str | None = None,
        strict_slashes: bool | None = None,
        version: int | str | None = None,
        name: str | None = None,
        subprotocols: Iterable[str] = (),
        **extra: Any,
    ) -> Callable[[H], H]:
        """Register the decorated ``async def handler(request, ws, **params)`` as a WebSocket route at *uri*.

        *subprotocols* are the ones this route speaks, in order of preference (see `pynecktie.websocket`).
        """
        if not uri.startswith("/"):
            uri = "/" + uri

        def decorator(handler: H) -> H:
            self._register_route(
                RouteSpec(
                    WebSocketEndpoint(handler, tuple(subprotocols)),
                    uri,
                    frozenset({"GET"}),
                    host,
                    strict_slashes,
                    False,
                    version,
                    name,
                    websocket=True,
                    extra=extra,
                )
            )
            return handler

        return decorator

    def add_websocket_route(self, handler: Callable[..., Any], uri: str, **kwargs: Any) -> Callable[..., Any]:
        """Register *handler* as a WebSocket route at *uri* (the call form of `websocket`)."""
        self.websocket(uri, **kwargs)(handler)
        return handler

    def static(
        self,
        uri: str,
        file_or_directory: str | os.PathLike[str],
        *,
        name: str = "static",
        index: str | list[str] | None = None,
        directory_view: bool = False,
        follow_external_symlinks: bool = False,
        precompressed: bool = False,
        gzip: bool = False,
        max_age: int | None = None,
        content_type: str | None = None,
        use_sendfile: bool = True,
        host: str | None = None,
        strict_slashes: bool | None = None,
        version: int | str | None = None,
    ) -> None:
        """Serve a directory (or one file) at *uri*: ``app.static('/static', './public')``.

        Paths that would leave the directory (``..``, encoded or not, absolute paths, NUL bytes, symlinks
        pointing outside unless *follow_external_symlinks*) get the same 404 as a missing file. *index*
        names the file served for a directory; *directory_view* lists a directory without one (off by
        default); *precompressed* serves ``name.br``, ``name.zst`` or ``name.gz`` beside a file to clients
        accepting that coding (*gzip*: ``name.gz`` only). ``url_for(name, filename='css/site.css')`` builds
        a file's URL.
        """
        from .static import StaticFiles

        handler = StaticFiles(
            file_or_directory,
            index=index,
            directory_view=directory_view,
            follow_external_symlinks=follow_external_symlinks,
            precompressed=precompressed,
            gzip=gzip,
            max_age=max_age,
            content_type=content_type,
            use_sendfile=use_sendfile,
        )
        uri = "/" + uri.strip("/") if uri.strip("/") else ""
        opts: dict[str, Any] = {"host": host, "version": version}
        if handler.is_file:
            self.route(uri or "/", ("GET",), name=name, strict_slashes=strict_slashes, **opts)(handler)
            return
        self.route(f"{uri}/<filename:path>", ("GET",), name=name, strict_slashes=True, **opts)(handler)
        if index or directory_view:
            index_route = self.route(
                uri or "/", ("GET",), name=f"{name}.index", strict_slashes=strict_slashes, **opts
            )
            index_route(handler)

    # -- middleware, errors, listeners ----------------------------------------------------------------
    def middleware(self, middleware_or_type: Any = "request", attach_to: str = "request") -> Any:
        """Register middleware: ``@app.middleware``, ``@app.middleware('response')`` or a direct call."""
        if callable(middleware_or_type):
            self._register_middleware(middleware_or_type, attach_to)
            return middleware_or_type
        kind = middleware_or_type
        if kind not in ("request", "response"):
            raise ValueError(f"middleware attaches to 'request' or 'response', not {kind!r}")

        def decorator(fn: H) -> H:
            self._register_middleware(fn, kind)
            return fn

        return decorator

    def on_request(self, middleware: Any = None) -> Any:
        """Register request middleware (runs before the handler; returning a response skips it).

        Works as ``@app.on_request`` and ``@app.on_request()``.
        """
        if middleware is None:
            return self.on_request
        self._register_middleware(middleware, "request")
        return middleware

    def on_response(self, middleware: Any = None) -> Any:
        """Register response middleware (runs after the handler, last registered first; returning a
        response replaces it). Works as ``@app.on_response`` and ``@app.on_response()``."""
        if middleware is None:
            return self.on_response
        self._register_middleware(middleware, "response")
        return middleware

    def exception(self, *exceptions: type[BaseException] | list[type[BaseException]]) -> Callable[[H], H]:
        """Register the decorated function as the handler of *exceptions*: ``handler(request, exception)``."""
        flat: list[type[BaseException]] = []
        for exc in exceptions:
            flat.extend(exc if isinstance(exc, (list, tuple)) else [exc])

        def decorator(handler: H) -> H:
            self._register_exception(tuple(flat), handler)
            return handler

        return decorator

    def listener(self, event: str) -> Callable[[H], H]:
        """Register the decorated function for a lifecycle *event*: ``fn(app)`` or ``fn(app, loop)``."""
        if event not in LISTENER_EVENTS:
            raise ValueError(f"unknown listener event {event!r}; one of {sorted(LISTENER_EVENTS)}")

        def decorator(fn: H) -> H:
            self._register_listener(event, fn)
            return fn

        return decorator

    def before_server_start(self, fn: H) -> H:
        """Run *fn* before the server starts accepting connections."""
        return self.listener("before_server_start")(fn)

    def after_server_start(self, fn: H) -> H:
        """Run *fn* once the server accepts connections."""
        return self.listener("after_server_start")(fn)

    def before_server_stop(self, fn: H) -> H:
        """Run *fn* when the server begins to shut down."""
        return self.listener("before_server_stop")(fn)

    def after_server_stop(self, fn: H) -> H:
        """Run *fn* once the server has stopped."""
        return self.listener("after_server_stop")(fn)
