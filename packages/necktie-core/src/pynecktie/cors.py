"""Cross-origin resource sharing (CORS): which origins may read the app's answers, and the preflight.

`CorsPolicy` holds one set of ``CORS_*`` settings (the app's, or a blueprint's or route's ``cors=``
override) and decides per response. The pipeline asks the policy of the request's route (the app's for
a request that matches no route) once per response, after response middleware and before compression:
it sets the headers on the response object, so a complete response, a stream (its head) and a file carry
them the same way under every carrier.

A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is answered by `Preflight`,
the first request middleware of the ``OPTIONS`` route at every path where some route has CORS on: it asks
the router which route serves the requested method there and answers from that route's policy, so no
handler and no other request middleware runs. A refused preflight is a 403 without the allow headers.

With no ``Origin`` in the request (a same-origin request or a non-browser client) nothing is checked. An
answer that has headers of its own (so may say it can be cached) gets one more, for caches:
``Access-Control-Allow-Origin: *`` when the answer is the same for every origin (``*`` without
credentials), else ``Vary: Origin``; a bare answer (no header of its own) is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import ValidationError

from .config import Config, describe_error
from .cors_settings import is_regex
from .exceptions import NecktieException
from .headers import add_vary, raw_header
from .response import HTTPResponse

if TYPE_CHECKING:
    from .app import Necktie
    from .request import Request
    from .response import BaseHTTPResponse
    from .route import Route
    from .routing import Router

__all__ = ["CorsPolicy", "Preflight", "PreflightAnswer", "add_cors_headers", "install_cors"]

SETTINGS = ("origins", "methods", "headers", "expose_headers", "credentials", "max_age")
# Request headers a browser may send without asking (the CORS-safelisted ones): always allowed.
SAFELISTED = frozenset({"accept", "accept-language", "content-language", "content-type"})
ALLOW_ORIGIN = "Access-Control-Allow-Origin"
# "Origin" in every casing (64 of them): one set lookup per header name finds it whatever the carrier
# kept of the case, cheaper than lowering each name, which every request without an Origin would pay.
ORIGIN_NAMES = frozenset(
    "".join(c.upper() if mask >> i & 1 else c for i, c in enumerate("origin")).encode() for mask in range(64)
)


class PreflightAnswer(HTTPResponse):
    """A preflight's answer (allowed or refused): complete as it is, never decorated again."""

    __slots__ = ()


class CorsPolicy:
    """One set of CORS settings, and what it adds to an answer."""

    __slots__ = ("same", "origins", "patterns", "credentials", "methods", "headers", "expose", "max_age")

    def __init__(self, settings: Config) -> None:
        origins = settings.CORS_ORIGINS
        # every origin without credentials: the answer is "*" whoever asks, and depends on no Origin
        self.same = origins == ["*"] and not settings.CORS_CREDENTIALS
        self.origins = frozenset(o for o in origins if not is_regex(o))
        self.patterns = tuple(re.compile(o) for o in origins if is_regex(o))
        self.credentials = settings.CORS_CREDENTIALS
        methods, headers = settings.CORS_METHODS, settings.CORS_HEADERS
        self.methods = None if methods == ["*"] else frozenset(methods)
        self.headers = None if headers == ["*"] else frozenset(headers) | SAFELISTED
        self.expose = ", ".join(settings.CORS_EXPOSE_HEADERS)
        self.max_age = str(settings.CORS_MAX_AGE)

    def allows(self, origin: str) -> bool:
        """Whether *origin* (an ``Origin`` header's value) may read the answers."""
        if origin in self.origins or "*" in self.origins:
            return True
        lowered = origin.lower()
        if lowered != origin and lowered in self.origins:
            return True
        return any(p.fullmatch(origin) for p in self.patterns)

    def apply(self, request: Request, response: BaseHTTPResponse) -> None:
        """Set the CORS headers of *response* to *request* (unless it set its own
        ``Access-Control-Allow-Origin``, or is a preflight's answer)."""
        for name, value in request.raw_headers:
            if name in ORIGIN_NAMES:
                origin: str | None = value.decode("latin-1")
                break
        else:
            origin = None
        if origin is None:
            # Not checked. An answer with headers of its own (a file's validators, a Cache-Control) may be
            # cached: it says so for the pages that will ask with an Origin. A bare one keeps the carrier's
            # fast path (a first header of its own costs a third of a /hello), and caches do not reuse it.
            if response._headers:
                if self.same:
                    response._headers.add(ALLOW_ORIGIN, "*")
                else:
                    add_vary(response._headers, "Origin")
            return
        headers = response.headers
        if type(response) is PreflightAnswer or ALLOW_ORIGIN in headers:
            return
        if not self.same:
            add_vary(headers, "Origin")
        if not self.allows(origin):
            return
        headers.add(ALLOW_ORIGIN, "*" if self.same else origin)
        if self.credentials:
            headers.add("Access-Control-Allow-Credentials", "true")
        if self.expose:
            headers.add("Access-Control-Expose-Headers", self.expose)

    def preflight(self, origin: str, method: str, asked: str | None, served: tuple[str, ...]) -> HTTPResponse:
        """The answer to a preflight from *origin* for *method* with the *asked* request headers (the
        ``Access-Control-Request-Headers`` value), at a path that serves the methods *served*."""
        if not self.allows(origin):
            return refusal("origin")
        if self.methods is not None and method not in self.methods:
            return refusal("method")
        names = [n.strip().lower() for n in asked.split(",") if n.strip()] if asked else []
        if self.headers is not None and any(n not in self.headers for n in names):
            return refusal("request header")
        allowed = [m for m in served if self.methods is None or m in self.methods]
        answer = PreflightAnswer(b"", 204)
        headers = answer.headers
        headers.add(ALLOW_ORIGIN, "*" if self.same else origin)
        if self.credentials:
            headers.add("Access-Control-Allow-Credentials", "true")
        headers.add("Access-Control-Allow-Methods", ", ".join(allowed))
        if names:
            headers.add("Access-Control-Allow-Headers", ", ".join(names))
        headers.add("Access-Control-Max-Age", self.max_age)
        if not self.same:
            headers.add("Vary", "Origin")
        return answer


def refusal(what: str) -> PreflightAnswer:
    """A refused preflight: 403 and no allow headers, so the browser fails the request it asked about."""
    body = f"CORS preflight refused: {what} not allowed\n"
    return PreflightAnswer(body, 403, {"Vary": "Origin"}, "text/plain; charset=utf-8")


class Preflight:
    """Answers preflights before anything else runs: the first request middleware of ``OPTIONS`` routes."""

    __slots__ = ("router",)

    def __init__(self, router: Router) -> None:
        self.router = router

    def __call__(self, request: Request) -> HTTPResponse | None:
        """The preflight's answer, or None for any other request (it goes on as usual)."""
        if request.method != "OPTIONS":
            return None
        method = raw_header(request.raw_headers, b"access-control-request-method")
        origin = raw_header(request.raw_headers, b"origin") if method is not None else None
        if method is None or origin is None:
            return None
        router = self.router
        host = request.host if router.has_hosts else None
        try:
            target: Route | None = router.resolve(method, request.path, host)[0]
        except NecktieException:  # the path does not serve that method
            target = None
        policy: CorsPolicy | None = None if target is None else target.cors
        if policy is None:
            return refusal("method")
        asked = raw_header(request.raw_headers, b"access-control-request-headers")
        return policy.preflight(origin, method, asked, router.methods_at(request.path, host))


def add_cors_headers(request: Request | None, response: BaseHTTPResponse) -> None:
    """The CORS headers on an answer a carrier gives before the pipeline runs (a 413 for a declared body
    over the limit, an error found in a head once it was read): the route's policy, else the app's."""
    if request is None:
        return
    route = request.route
    policy = request.app._cors if route is None else route.cors
    if policy is not None:
        policy.apply(request, response)


def install_cors(app: Necktie) -> None:
    """Decide, when *app* is finalized (after its middleware chains), each route's policy
    (``route.cors``), the one for answers that match no route (``app._cors``), and put `Preflight` first
    on the ``OPTIONS`` route of every path where some route has CORS on."""
    config = app.config
    shared = CorsPolicy(config) if config.CORS_ORIGINS else None
    app._cors = shared
    made: dict[str, CorsPolicy] = {}
    for route in app.router.all_routes():
        route.cors = None if route.websocket else policy_for(config, route, shared, made)
    preflight = Preflight(app.router)
    for entry in app.router.entries():
        options = entry.pick("OPTIONS")
        if options is None or all(r.cors is None for r in entry.routes()):
            continue
        chain = options.request_middleware
        if not (chain and isinstance(chain[0], Preflight)):
            options.request_middleware = (preflight, *chain)


def policy_for(
    config: Config, route: Route, shared: CorsPolicy | None, made: dict[str, CorsPolicy]
) -> CorsPolicy | None:
    """*route*'s policy: its own ``cors=``, over its blueprint's, over the app's settings (*shared*;
    None while ``CORS_ORIGINS`` is empty). False turns it off; a mapping overrides some settings."""
    own = route.ctx.get("cors")
    theirs = getattr(route.blueprint, "cors", None)
    for value in (own, theirs):
        if not (value is None or isinstance(value, (bool, Mapping))):
            raise ValueError(f"route {route.path!r}: cors= is True, False or a mapping, not {value!r}")
    if own is False or (own is None and theirs is False):
        return None
    layers = [v for v in (theirs, own) if isinstance(v, Mapping)]
    if not layers:
        if shared is None and True in (own, theirs):
            raise ValueError(f"route {route.path!r}: cors=True, but CORS_ORIGINS is empty")
        return shared
    values = {f"CORS_{name.upper()}": getattr(config, f"CORS_{name.upper()}") for name in SETTINGS}
    for layer in layers:
        for name, value in layer.items():
            if name not in SETTINGS:
                raise ValueError(f"route {route.path!r}: cors= takes {', '.join(SETTINGS)}; not {name!r}")
            values[f"CORS_{name.upper()}"] = value
    try:
        settings = Config.model_validate(values)
    except ValidationError as exc:
        raise ValueError(f"route {route.path!r}: cors= {describe_error(exc)}") from None
    key = repr([getattr(settings, name) for name in values])
    if key not in made:
        made[key] = CorsPolicy(settings)
    return made[key] if settings.CORS_ORIGINS else None
