"""`Necktie`: the application object — registration, lifecycle, and the one request pipeline."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from types import CoroutineType, SimpleNamespace
from typing import Any

from . import files, health, observation
from . import openapi as _openapi
from .asgi import run_asgi
from .background import BackgroundWork, TaskSource
from .blueprints import Blueprint, BlueprintGroup
from .compression import Compression, install_compression
from .config import Config
from .cors import CorsPolicy, install_cors
from .delivery import send_file, send_stream
from .errorpages import answer_failure, last_resort_error, render_error
from .exceptions import NecktieException, NotFound, ServerError, ServiceUnavailable, find_handler
from .lifecycle import listener_arity
from .registry import Registry, RouteSpec
from .request import Request, RequestStream
from .response import BaseHTTPResponse, FileResponse, HTTPResponse, StreamingHTTPResponse, set_default_dumps
from .routing import Route, Router
from .seam import ResponseSink
from .watchdog import Watchdogs

error_logger = logging.getLogger("necktie.error")
logger = logging.getLogger("necktie.root")

ExceptionHandlers = list[tuple[tuple[type[BaseException], ...], Callable[..., Any]]]


class Necktie(Registry):
    """A Necktie application: register routes on it, then serve it with ``app.run()`` or any ASGI server."""

    def __init__(
        self,
        name: str = "necktie",
        *,
        config: Config | None = None,
        strict_slashes: bool = False,
        dumps: Callable[..., Any] | None = None,
    ) -> None:
        if dumps is not None:  # the default encoder of json() responses (process-wide, as in Sanic)
            set_default_dumps(dumps)
        self.name = name
        self.config = config or Config()
        self.strict_slashes = strict_slashes
        self.router = Router()
        self.ctx = SimpleNamespace()
        self.blueprints: dict[str, Blueprint] = {}
        self.request_middleware: list[Callable[..., Any]] = []
        self.response_middleware: list[Callable[..., Any]] = []
        self.exception_handlers: ExceptionHandlers = []
        self.listeners: dict[str, list[Callable[..., Any]]] = {}
        self._bp_middleware: dict[int, tuple[list[Callable[..., Any]], list[Callable[..., Any]]]] = {}
        self._bp_exceptions: dict[int, ExceptionHandlers] = {}
        self._app_chains: tuple[tuple[Callable[..., Any], ...], tuple[Callable[..., Any], ...]] = ((), ())
        self._finalized = False
        self._timeout_streams = False
        self._compression: Compression | None = None  # for requests that match no route
        self._cors: CorsPolicy | None = None  # the same
        self._watchdogs: Watchdogs | None = None
        self.background = BackgroundWork()
        self.health = health.Health()  # liveness and readiness (LIVENESS_PATH, READINESS_PATH)

    def __repr__(self) -> str:
        return f"Necktie(name={self.name!r})"

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        """The ASGI 3 entry point: any ASGI server (``uvicorn module:app``) can serve the app (see `asgi`)."""
        await run_asgi(self, scope, receive, send)

    # -- registration ---------------------------------------------------------------------------------
    def _register_route(self, spec: RouteSpec, blueprint: Blueprint | None = None) -> None:
        uri = spec.uri
        if spec.version is not None:
            version = str(spec.version).strip("/").lstrip("v")
            prefix = spec.version_prefix.rstrip("/")
            uri = f"{prefix}{version}{uri}" if prefix.endswith("v") else f"{prefix}/{version}{uri}"
        strict = spec.strict_slashes if spec.strict_slashes is not None else self.strict_slashes
        base_name = spec.name if spec.name else str(getattr(spec.handler, "__name__", "handler"))
        hosts = spec.host if isinstance(spec.host, (list, tuple, set, frozenset)) else [spec.host]
        for host in hosts:
            name = base_name
            existing = self.router.names.get(name)
            if existing is not None and (
                existing.path != uri or existing.host != (host.lower() if host else None)
            ):
                name = f"{base_name}@{host}{uri}" if host else f"{base_name}@{uri}"
            route = Route(
                path=uri,
                methods=spec.methods,
                handler=spec.handler,
                name=name,
                stream=spec.stream,
                max_body_size=spec.max_body_size,
                strict_slashes=strict,
                host=host,
                blueprint=blueprint,
                websocket=spec.websocket,
                ctx=dict(spec.extra),
            )
            self.router.add(route)
        self._finalized = False

    def _register_middleware(self, middleware: Callable[..., Any], attach_to: str) -> None:
        (self.request_middleware if attach_to == "request" else self.response_middleware).append(middleware)
        self._finalized = False

    def _register_exception(
        self, exceptions: tuple[type[BaseException], ...], handler: Callable[..., Any]
    ) -> None:
        self.exception_handlers.append((exceptions, handler))

    def _register_listener(self, event: str, listener: Callable[..., Any]) -> None:
        self.listeners.setdefault(event, []).append(listener)

    def blueprint(
        self,
        blueprint: Blueprint | BlueprintGroup | list[Blueprint],
        *,
        url_prefix: str | None = None,
        version: int | str | None = None,
    ) -> None:
        """Register a blueprint (or a group or list of them) on this app."""
        if isinstance(blueprint, (list, tuple)):
            blueprint = BlueprintGroup(blueprint)
        if isinstance(blueprint, BlueprintGroup):
            for bp, prefix, ver in blueprint.flatten(url_prefix or "", version):
                self._add_blueprint(bp, prefix or None, ver)
            return
        self._add_blueprint(blueprint, url_prefix, version)

    def _add_blueprint(self, bp: Blueprint, url_prefix: str | None, version: int | str | None) -> None:
        self.blueprints.setdefault(bp.name, bp)
        bp.registered_on.append(self)
        self._bp_middleware[id(bp)] = (bp.request_middleware, bp.response_middleware)
        self._bp_exceptions[id(bp)] = bp.exception_handlers
        for spec in bp.specs_for(url_prefix, version):
            self._register_route(spec, blueprint=bp)
        if len(bp.registered_on) == 1 or bp.registered_on.count(self) == 1:
            for event, fn in bp.listeners:
                self._register_listener(event, fn)

    def url_for(self, name: str, **params: Any) -> str:
        """The path of the route called *name* (``handler`` or ``blueprint.handler``), *params* filled in."""
        if params.get("_external") and "_server" not in params and self.config.SERVER_NAME:
            params["_server"] = self.config.SERVER_NAME
        return self.router.url_for(name, **params)

    def openapi(self) -> dict[str, Any]:
        """The app's OpenAPI document (`pynecktie.openapi`): built once, kept until routes are added."""
        return _openapi.document(self)

    # -- lifecycle ------------------------------------------------------------------------------------
    def finalize(self) -> None:
        """Fix each route's middleware chain; done once before serving and again after any registration."""
        _openapi.install(self)  # /openapi.json and /docs, once, if OPENAPI_SERVE (or DEBUG) says so
        health.install(self)  # LIVENESS_PATH and READINESS_PATH, once, if set
        observation.install_observation(self)  # request ids, metrics, tracing, JSON logs, as set
        app_req, app_resp = tuple(self.request_middleware), tuple(reversed(self.response_middleware))
        self._app_chains = (app_req, app_resp)
        install_compression(self)
        for route in self.router.all_routes():
            bp_req: list[Callable[..., Any]] = []
            bp_resp: list[Callable[..., Any]] = []
            if route.blueprint is not None:
                bp_req, bp_resp = self._bp_middleware.get(id(route.blueprint), ([], []))
            route.request_middleware = app_req + tuple(bp_req)
            route.response_middleware = tuple(reversed(bp_resp)) + app_resp
        install_cors(self)  # after the chains: it puts the preflight's answer first on OPTIONS routes
        timeout = self.config.RESPONSE_TIMEOUT
        self._timeout_streams = self.config.RESPONSE_TIMEOUT_STREAMS
        self._watchdogs = Watchdogs(timeout) if timeout else None
        self._finalized = True

    async def dispatch(self, event: str, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Run the listeners of *event* in registration order (``after_*`` ones in reverse)."""
        listeners = list(self.listeners.get(event, ()))
        if event.startswith("after_server_stop") or event == "before_server_stop":
            listeners.reverse()
        loop = loop or asyncio.get_running_loop()
        for fn in listeners:
            result = fn(self, loop) if listener_arity(fn) >= 2 else fn(self)
            if inspect.isawaitable(result):
                await result

    def add_task(self, task: TaskSource, *, name: str | None = None) -> None:
        """Run *task* (a coroutine function, or a coroutine) while the app is served: started with the server
        (at once if it runs already), cancelled at shut-down; an exception it raises is logged."""
        self.background.add(task, name)

    def run(self, host: str = "127.0.0.1", port: int = 8000, **options: Any) -> None:
        """Serve the app with necktie-server until SIGINT or SIGTERM (``pip install necktie-server``).

        The options are the ``necktie`` command's: ``unix``, ``ssl`` (an `ssl.SSLContext`) or ``tls_cert``
        and ``tls_key``, ``workers`` or ``fast``, ``access_log``, ``debug``, ``reload``, ``reload_dirs``,
        ``backlog``. With several workers (or ``reload``) the calling script is run again in each worker.
        """
        from . import _runner

        _runner.run(self, host=host, port=port, **options)

    # -- the pipeline ---------------------------------------------------------------------------------
    def match(self, request: Request) -> Route | None:
        """Route *request* (at head time, so the carrier knows whether to stream its body).

        On failure the routing error is kept in ``request.match_info['__error__']`` and None returned.
        """
        if not self._finalized:
            self.finalize()
        router = self.router
        try:
            route, params = router.resolve(
                request.method, request.path, request.host if router._hosts else None
            )
        except NecktieException as exc:
            # Without its traceback: its frames (the carrier's parsing, with the bytes it was reading) would
            # stay alive as long as the request does.
            request.match_info = {"__error__": exc.with_traceback(None)}
            return None
        request.route = route
        request.match_info = params
        return route

    def body_limit(self, route: Route | None) -> int | None:
        """The most body bytes *route* accepts: its own ``max_body_size`` or ``REQUEST_MAX_SIZE``."""
        if route is None or route.uses_default_limit:
            return self.config.REQUEST_MAX_SIZE
        return route.max_body_size  # type: ignore[no-any-return]  # an int or None once not the default

    async def handle(self, request: Request, sink: ResponseSink) -> None:
        """Run one request through middleware, handler and error handling, and send the response to *sink*.

        The carrier calls this in a task of the request's own after `match`. For buffered routes it may
        set ``request.body`` first; otherwise the body is read here from ``request.stream``.
        """
        route = request.route
        watchdog = task = None
        if self._watchdogs is not None:
            watchdog, task = self._watchdogs.start()
        try:
            response = await self._respond(request, route)
        except asyncio.CancelledError:
            # (watchdog and task are set together; the ignores say so where mypy cannot see it)
            if task is None or not watchdog.expired(task) or task.uncancel():  # type: ignore[union-attr]
                sink.abort()  # the client went away, or someone else cancelled us: no answer is coming
                raise
            response = await self._error_response(request, ServiceUnavailable("Response Timeout"))
        except Exception as exc:
            response = await self._error_response(request, exc)
        finally:
            if task is not None:
                watchdog.unwatch(task)  # type: ignore[union-attr]  # set with task
        try:
            response_mw = self._app_chains[1] if route is None else route.response_middleware
            compression = self._compression if route is None else route.compression
            if response_mw:
                response = await self._run_response_middleware(request, response, response_mw)
            if (cors := self._cors if route is None else route.cors) is not None:
                cors.apply(request, response)  # before compression: both may add to Vary
            out = sink if compression is None else compression.wrap(request, response, sink)
            if type(response) is HTTPResponse:
                await out.send(response, response.body)
                sent = True
            else:
                sent = await self.send_response(request, response, out)
        except Exception as exc:  # the seam's promise: handle() never leaves its request without an answer
            await answer_failure(request, sink, exc)
            return
        if request._background is not None and sent:
            self.background.after_response(request._background, f"{request.method} {request.path}")

    async def _respond(self, request: Request, route: Route | None) -> BaseHTTPResponse:
        stream = request.stream
        if route is not None and not route.stream and stream is not None:
            # A carrier that did not buffer the body: read it before request middleware, which may use it.
            request.body = await stream.read()
            request.stream = None
        request_mw = self._app_chains[0] if route is None else route.request_middleware
        for mw in request_mw:
            result = mw(request)
            if inspect.isawaitable(result):
                result = await result
            if result is not None:  # answered as it is (send_response refuses what is not a response)
                return result  # type: ignore[no-any-return]
        if route is None:
            # Taken off the request: raised, the error's traceback holds this frame, which holds the request,
            # and the request would hold the error, a cycle that keeps them all until a full collection.
            raise request.match_info.pop("__error__", None) or NotFound()
        response = route.handler(request, **request.match_info)
        if type(response) is CoroutineType:  # the usual case, one test before the general ones (a call)
            response = await response
        elif not isinstance(response, BaseHTTPResponse) and inspect.isawaitable(response):
            response = await response
        if not isinstance(response, BaseHTTPResponse):
            raise ServerError(
                f"Invalid response type {response!r} (need HTTPResponse)"
                if response is not None
                else "No response returned by the handler"
            )
        if isinstance(response, FileResponse):
            await files.prepare(request, response)
        return response

    async def _run_response_middleware(
        self, request: Request, response: BaseHTTPResponse, chain: tuple[Callable[..., Any], ...]
    ) -> BaseHTTPResponse:
        try:
            for mw in chain:
                result = mw(request, response)
                if inspect.isawaitable(result):
                    result = await result
                if result is not None:
                    if result is not response and isinstance(response, FileResponse):
                        response.close()  # replaced: its opened file will never be sent
                    response = result
        except BaseException as exc:
            if isinstance(response, FileResponse):
                response.close()
            if not isinstance(exc, Exception):
                raise
            response = await self._error_response(request, exc)
        return response

    async def _error_response(self, request: Request, exc: Exception) -> BaseHTTPResponse:
        handler = self._find_exception_handler(request, exc)
        if handler is not None:
            try:
                result = handler(request, exc)
                if inspect.isawaitable(result):
                    result = await result
                if isinstance(result, BaseHTTPResponse):
                    return result
            except Exception as inner:
                exc = inner
        if not (isinstance(exc, NecktieException) and exc.quiet):
            error_logger.error(
                "Exception occurred while handling uri: %r",
                request.target.decode("latin-1"),
                exc_info=exc,
                extra={"request": request},
            )
        try:
            return render_error(request, exc, self.config.DEBUG)
        except Exception as failure:  # an error whose own page cannot be built still gets an answer
            error_logger.error(
                "Could not build the error response for %r",
                request.target.decode("latin-1"),
                exc_info=failure,
                extra={"request": request},
            )
            return last_resort_error()

    def _find_exception_handler(self, request: Request, exc: Exception) -> Callable[..., Any] | None:
        blueprint = None if request.route is None else request.route.blueprint
        own = [] if blueprint is None else [self._bp_exceptions.get(id(blueprint), [])]
        return find_handler([*own, self.exception_handlers], exc)

    async def send_response(self, request: Request, response: BaseHTTPResponse, sink: ResponseSink) -> bool:
        """Send *response* (complete, streamed or a file) for *request* to *sink*, as the pipeline does;
        True when a response was handed to the carrier whole (False: cut short, or refused).

        For a carrier answering a request itself after the handler stage (a refused websocket upgrade).
        """
        if isinstance(response, HTTPResponse):
            await sink.send(response, response.body)
            return True
        if isinstance(response, FileResponse):

            async def answer_error(exc: Exception) -> bool:
                return await self.send_response(request, await self._error_response(request, exc), sink)

            return await send_file(request, response, sink, answer_error, self.config.DEBUG)
        if not isinstance(response, StreamingHTTPResponse):
            response = render_error(request, ServerError(f"cannot send {response!r}"), self.config.DEBUG)
            await sink.send(response, response.body)
            return False
        # With RESPONSE_TIMEOUT_STREAMS a stream must also end within RESPONSE_TIMEOUT of its start.
        return await send_stream(request, response, sink, self._watchdogs if self._timeout_streams else None)

    def make_stream(self, request: Request, source: Any, declared: int | None = None) -> RequestStream:
        """A `RequestStream` over a carrier's *source*, limited as the request's route says; *declared* is
        the body's ``Content-Length``, checked against the limit on the first ``get()``."""
        return RequestStream(source, self.body_limit(request.route), request, declared)
