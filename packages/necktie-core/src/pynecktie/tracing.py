"""``TRACING``: an OpenTelemetry server span for every request (``pip install 'necktie-core[otel]'``).

The span follows the HTTP semantic conventions (``http.request.method``, ``http.route``, ``url.path``,
``url.scheme``, ``server.address``, ``http.response.status_code``, ...), continues the trace of an
incoming ``traceparent`` (through the globally configured propagator), and is the current span while the
request's middleware and handler run, so spans they start (an instrumented HTTP client's, a database
call's) are its children. It ends when the pipeline is done: for a streamed response, when its last
chunk went out or it was cut short (then the span's status is an error saying so). The tracer provider
is the application's (``opentelemetry.trace.set_tracer_provider``): with none, spans cost little and go
nowhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .__about__ import __version__
from .metrics import METHODS, bytes_received
from .observation import MissingExtra

if TYPE_CHECKING:
    from .app import Necktie
    from .headers import Headers
    from .observation import Exchange
    from .request import Request

__all__ = ["Tracing"]


class _HeadersGetter:
    """How the propagator reads a request's headers (an OpenTelemetry ``Getter``)."""

    def get(self, carrier: Headers, key: str) -> list[str] | None:
        values = carrier.getall(key, [])
        return values or None

    def keys(self, carrier: Headers) -> list[str]:
        return list(carrier)


class Tracing:
    """The `pynecktie.observation.Observer` that makes each request's server span."""

    def __init__(self, app: Necktie) -> None:
        try:
            from opentelemetry import context, propagate, trace
        except ImportError:
            raise MissingExtra("TRACING", "opentelemetry-api", "otel") from None
        self._context = context
        self._propagate = propagate
        self._trace = trace
        self._getter = _HeadersGetter()
        # A proxy until the application sets its provider, then that provider's tracer.
        self._tracer = trace.get_tracer("pynecktie", __version__)

    def begin(self, request: Request, exchange: Exchange) -> None:
        """Start the request's span (a child of the incoming ``traceparent``'s) and make it current."""
        trace = self._trace
        parent = self._propagate.extract(request.headers, getter=self._getter)
        method = request.method if request.method in METHODS else "_OTHER"
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "url.path": request.path,
            "url.scheme": request.scheme,
            "server.address": request.server_name,
            "server.port": request.server_port,
            "network.protocol.version": request.version,
            "client.address": request.client_ip,
        }
        if request.query_string:
            attributes["url.query"] = request.query_string
        agent = request.headers.get("user-agent")
        if agent:
            attributes["user_agent.original"] = agent
        route = request.route
        if route is not None:
            attributes["http.route"] = route.path
        name = method if route is None else f"{method} {route.path}"
        span = self._tracer.start_span(name, parent, kind=trace.SpanKind.SERVER, attributes=attributes)
        token = self._context.attach(trace.set_span_in_context(span, parent))
        exchange.notes = (span, token)

    def end(self, request: Request, exchange: Exchange) -> None:
        """Set the outcome on the span and end it."""
        span, token = exchange.notes
        status = exchange.status
        if status:
            span.set_attribute("http.response.status_code", status)
            span.set_attribute("http.response.body.size", exchange.sent)
        received = bytes_received(request)
        if received:
            span.set_attribute("http.request.body.size", received)
        error = None
        if exchange.aborted:
            error = "client gone" if exchange.cancelled else "response aborted"
        elif exchange.cancelled:
            error = "client gone"
        elif status >= 500:
            error = str(status)
        if error is not None:
            span.set_attribute("error.type", error)
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, error))
        span.end()
        self._context.detach(token)
