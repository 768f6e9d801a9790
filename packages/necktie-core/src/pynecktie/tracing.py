"""``TRACING``: an OpenTelemetry server span for every request (``pip install 'necktie-core[otel]'``).

The span follows the HTTP semantic conventions (``http.request.method``, ``http.route``, ``url.path``,
``url.scheme``, ``server.address``, ``http.response.status_code``, ...), continues the trace of an
incoming ``traceparent`` (through the globally configured propagator), and is the current span while the
request's middleware and handler run, so spans they start (an instrumented HTTP client's, a database
call's) are its children. It ends when the pipeline is done: for a streamed response, when its last
chunk went out or it was cut short (then the span's status is an error saying so). The tracer provider
is the application's (``opentelemetry.trace.set_tracer_provider``): with none, spans cost little and go
nowhere. Attributes are only built for a span that may record them: with no provider, none is; at the
end, only a recording span (``is_recording()``, false for one a sampler dropped) gets the outcome's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .__about__ import __version__
from .headers import Headers, raw_header, raw_header_values
from .metrics import METHODS, bytes_received
from .observation import MissingExtra

if TYPE_CHECKING:
    from .app import Necktie
    from .observation import Exchange
    from .request import Request
    from .route import Route

RawHeaders = list[tuple[bytes, bytes]]

__all__ = ["Tracing"]


class _HeadersGetter:
    """How the propagator reads a request's headers (an OpenTelemetry ``Getter``): off its raw headers, as
    ``request.headers`` would give them (every value of a name, in order), without building those for the
    two or three lookups of a request."""

    def __init__(self) -> None:
        self._names: dict[str, bytes] = {}  # the propagators' keys, as raw header names

    def get(self, carrier: RawHeaders, key: str) -> list[str] | None:
        name = self._names.get(key)
        if name is None:
            name = key.lower().encode("latin-1", "replace")
            if len(self._names) < 64:
                self._names[key] = name
        return raw_header_values(carrier, name) or None

    def keys(self, carrier: RawHeaders) -> list[str]:
        return list(Headers.from_raw(carrier))


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
        # The API's proxy until the application sets its provider (then the provider's tracer: `begin`);
        # the provider's own tracer when one was set already.
        self._tracer: Any = trace.get_tracer("pynecktie", __version__)
        self._settled = False  # True once `_tracer` is a tracer whose spans may record
        self._untraced: Any = None  # with the no-op tracer, what a request with no incoming context runs in

    def begin(self, request: Request, exchange: Exchange) -> None:
        """Start the request's span (a child of the incoming ``traceparent``'s) and make it current."""
        trace = self._trace
        parent = self._propagate.extract(request.raw_headers, getter=self._getter)
        method = request.method if request.method in METHODS else "_OTHER"
        route = request.route
        name = method if route is None else f"{method} {route.path}"
        tracer = self._tracer
        if not self._settled:
            # The tracer spans come from now: the API's no-op one while no provider is set, else the
            # provider's, kept from then on (a provider is set once). The API's ProxyTracer says which it
            # delegates to only in its private `_tracer`: without one, the proxy is kept (attributes built).
            if isinstance(tracer, trace.ProxyTracer):
                tracer = getattr(tracer, "_tracer", tracer)
            if not isinstance(tracer, trace.NoOpTracer):
                self._tracer, self._settled = tracer, True
        if isinstance(tracer, trace.NoOpTracer):
            # Spans that never record: no attributes. The span is the incoming context's, whatever the
            # tracer is told; with nothing incoming, the same each time (the API's own answer, kept).
            if not parent and self._untraced is not None:
                span, context = self._untraced
            else:
                span = tracer.start_span(name, parent, kind=trace.SpanKind.SERVER)
                context = trace.set_span_in_context(span, parent)
                if not parent:
                    self._untraced = (span, context)
        else:
            attributes = self._attributes(request, method, route)
            span = tracer.start_span(name, parent, kind=trace.SpanKind.SERVER, attributes=attributes)
            context = trace.set_span_in_context(span, parent)
        exchange.notes = (span, self._context.attach(context))

    @staticmethod
    def _attributes(request: Request, method: str, route: Route | None) -> dict[str, Any]:
        """The span's attributes known at its start (given then: a sampler may decide by them)."""
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
        agent = raw_header(request.raw_headers, b"user-agent")
        if agent:
            attributes["user_agent.original"] = agent
        if route is not None:
            attributes["http.route"] = route.path
        return attributes

    def end(self, request: Request, exchange: Exchange) -> None:
        """Set the outcome on the span (when it records) and end it."""
        span, token = exchange.notes
        if span.is_recording():
            self._outcome(span, request, exchange)
        span.end()
        self._context.detach(token)

    def _outcome(self, span: Any, request: Request, exchange: Exchange) -> None:
        """The response's status and sizes, and the error when there was one."""
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
