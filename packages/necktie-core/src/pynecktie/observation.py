"""The observation seam: what request ids and tracing see of each request, for every carrier.

Every carrier hands a request to ``app.handle(request, sink)``. When something observes requests in their
own task (``REQUEST_ID``, ``TRACING``), `install_observation` (run by ``app.finalize()``) puts an
observed version of ``handle`` on the app itself: it wraps the carrier's sink in an `Exchange` that notes
the status and the body bytes that went out, and calls each `Observer`'s ``begin`` before the pipeline runs
(in the request's own task, so what it puts in the context is seen by the handler) and its ``end`` once the
pipeline is done: the response sent whole, cut short, or abandoned because the client went away. With
nothing observing, ``handle`` is the plain method and nothing here runs.

Metrics (``METRICS_PATH``) are not an observer: counting must cost next to nothing, so the carriers count
where they end a response anyway (`pynecktie.metrics`); `install_observation` only sets them up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Coroutine
from typing import IO, TYPE_CHECKING, Any, Protocol

from .headers import Headers
from .request_ids import current_request_id, id_from

if TYPE_CHECKING:
    from .app import Necktie
    from .request import Request
    from .response import BaseHTTPResponse, FileResponse
    from .seam import ResponseSink

__all__ = ["Exchange", "MissingExtra", "Observer", "install_observation"]


class MissingExtra(RuntimeError):
    """A setting needs an optional dependency that is not installed (raised when the app starts)."""

    def __init__(self, setting: str, package: str, extra: str) -> None:
        super().__init__(f"{setting} needs {package}: pip install 'necktie-core[{extra}]'")


class Observer(Protocol):
    """Something that watches every request: called at its start and at its end."""

    def begin(self, request: Request, exchange: Exchange) -> None:
        """The pipeline is about to run *request* (in the request's task)."""
        ...

    def end(self, request: Request, exchange: Exchange) -> None:
        """The pipeline is done with *request*; *exchange* says what went out."""
        ...


class Exchange:
    """The carrier's `ResponseSink` seen through: it forwards every call and notes what went out.

    ``status`` is the status handed to the carrier (0: none), ``sent`` the body bytes handed to it (0 for a
    HEAD answer); ``aborted`` is True when the response was given up before its end, ``cancelled`` when the
    request's task was cancelled (the client went away). ``echo`` is the (header, id) the request's id is
    echoed as (None: not echoed). ``notes`` is for an observer's own per-request state.
    """

    # Class-level defaults: an exchange only stores what differs for it (one is made per request).
    echo: tuple[str, str] | None = None
    status = sent = 0
    aborted = cancelled = done = False
    notes: Any = None

    def __init__(self, sink: ResponseSink, request: Request) -> None:
        self._sink = sink
        self.request = request

    @property
    def started(self) -> bool:
        """True once the carrier has the head of a response."""
        return self._sink.started

    def _head(self, response: BaseHTTPResponse) -> None:
        self.status = response.status
        if self.echo is not None:
            self._echo(response)

    def _echo(self, response: BaseHTTPResponse) -> None:
        name, rid = self.echo  # type: ignore[misc]  # called when set
        if response._headers is None:  # the usual case: nothing of the application's own to replace
            response._headers = Headers.one(name, rid)
        else:
            response._headers[name] = rid

    # send, start and end hand back the carrier's own coroutine rather than awaiting it in one of theirs.
    def send(self, response: BaseHTTPResponse, body: bytes) -> Coroutine[Any, Any, None]:
        """Send a complete response."""
        self.status = response.status  # (`_head`, inline on the hot path)
        if self.echo is not None:
            self._echo(response)
        if self.request.method != "HEAD":
            self.sent += len(body)
        self.done = True
        return self._sink.send(response, body)

    def start(self, response: BaseHTTPResponse) -> Coroutine[Any, Any, None]:
        """Send the head of a streamed response."""
        self._head(response)
        return self._sink.start(response)

    def write(self, data: bytes) -> Awaitable[None]:
        """Send a piece of a streamed body."""
        if self.request.method != "HEAD":
            self.sent += len(data)
        return self._sink.write(data)

    def end(self) -> Coroutine[Any, Any, None]:
        """End a streamed response."""
        self.done = True
        return self._sink.end()

    def abort(self) -> None:
        """Give up on the response (noted unless it had ended)."""
        if not self.done:
            self.aborted = self.done = True
        self._sink.abort()


class FileExchange(Exchange):
    """An `Exchange` in front of a carrier that sends files itself (`pynecktie.seam.FileSink`)."""

    async def send_file(self, response: FileResponse, file: IO[bytes], offset: int, count: int) -> None:
        """Send a file response by the carrier's own means."""
        self._head(response)
        await self._sink.send_file(response, file, offset, count)  # type: ignore[attr-defined]  # a FileSink
        if self.request.method != "HEAD":
            self.sent += count
        self.done = True


class _RequestIds:
    """``REQUEST_ID``: the request's id in the context of its task (the log filter reads it there)."""

    def __init__(self, header: str) -> None:
        self.echoed = header
        self.header = header.lower().encode("latin-1")

    def begin(self, request: Request, exchange: Exchange) -> None:
        request._id = rid = id_from(request.raw_headers, self.header)
        current_request_id.set(rid)
        exchange.echo = (self.echoed, rid)

    def end(self, request: Request, exchange: Exchange) -> None:
        pass


def observers_of(app: Necktie) -> list[Observer]:
    """What the app's settings ask to observe (raises `MissingExtra` when a setting lacks its package)."""
    config = app.config
    found: list[Observer] = []
    if config.REQUEST_ID:
        found.append(_RequestIds(config.REQUEST_ID_HEADER))
    if config.TRACING:
        from .tracing import Tracing

        found.append(Tracing(app))
    return found


def install_observation(app: Necktie) -> None:
    """Put the observed ``handle`` on *app* when something observes its requests (once; at finalize)."""
    if app.config.LOG_FORMAT == "json":
        from .logformat import configure_json

        configure_json(app.config.DEBUG)
    if app.config.METRICS_PATH:  # counted by the carriers, not here: see pynecktie.metrics
        from .metrics import install_metrics

        install_metrics(app)
    if "handle" in app.__dict__:
        return
    observers = observers_of(app)
    if not observers:
        return
    handle = type(app).handle.__get__(app)
    begins = tuple(observer.begin for observer in observers)
    # (a request id has nothing to do at the end)
    ends = tuple(observer.end for observer in reversed(observers) if not isinstance(observer, _RequestIds))
    exchanges: dict[type, type[Exchange]] = {}  # the Exchange for each kind of carrier sink

    async def observed(request: Request, sink: ResponseSink) -> None:
        kind = exchanges.get(type(sink))
        if kind is None:
            kind = exchanges[type(sink)] = FileExchange if hasattr(sink, "send_file") else Exchange
        exchange = kind(sink, request)
        for begin in begins:
            begin(request, exchange)
        try:
            await handle(request, exchange)
        except BaseException:
            exchange.cancelled = True
            raise
        finally:
            for end in ends:
                end(request, exchange)

    observed.__doc__ = handle.__doc__
    app.__dict__["handle"] = observed
