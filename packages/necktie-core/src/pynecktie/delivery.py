"""Sending what a handler returned to the carrier's sink, for the kinds that take more than one call.

A streamed response's ``streaming_fn`` runs here, cut at ``RESPONSE_TIMEOUT`` when the app asks for that
(``RESPONSE_TIMEOUT_STREAMS``); a file response is checked against the request and handed to `files`.
`Necktie.send_response` picks the kind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from . import files
from .errorpages import render_error
from .exceptions import ConnectionClosed, NecktieException

if TYPE_CHECKING:
    from .request import Request
    from .response import FileResponse, StreamingHTTPResponse
    from .seam import ResponseSink
    from .watchdog import Watchdogs

error_logger = logging.getLogger("necktie.error")


async def send_stream(
    request: Request, response: StreamingHTTPResponse, sink: ResponseSink, watchdogs: Watchdogs | None
) -> bool:
    """Send the head, run the response's ``streaming_fn``, end the body; *watchdogs* cut it at the timeout.

    A handler error while streaming is logged and the connection aborted (the head is already out).
    True when the stream was ended, False when it was cut or its head refused.
    """
    try:
        await sink.start(response)
    except ConnectionClosed:  # its head was refused and a 500 went out instead: nothing more to send
        return False
    response._sink = sink
    watchdog = task = None
    if watchdogs is not None:
        watchdog, task = watchdogs.start()
    try:
        await response.streaming_fn(response)
    except asyncio.CancelledError:
        sink.abort()
        # (watchdog and task are set together; the ignores say so where mypy cannot see it)
        if task is not None and watchdog.expired(task) and task.uncancel() == 0:  # type: ignore[union-attr]
            error_logger.info("Cut the stream of %r at RESPONSE_TIMEOUT", request.target.decode("latin-1"))
            return False
        raise
    except Exception as exc:
        _log(exc, "Exception while streaming the response of %r", request)
        sink.abort()
        return False
    finally:
        response._sink = None
        if task is not None:
            watchdog.unwatch(task)  # type: ignore[union-attr]  # set with task
    await sink.end()
    return True


async def send_file(
    request: Request,
    response: FileResponse,
    sink: ResponseSink,
    answer_error: Callable[[Exception], Awaitable[bool]],
    debug: bool,
) -> bool:
    """Check *response* against the request (if not done yet) and send the file to *sink*.

    A file that cannot be prepared is answered by *answer_error* (the app's error handling); a failure
    while sending is logged, and answered with an error page only if nothing was sent yet. True when a
    response (the file or the error page) went out whole.
    """
    if response.stat is None:
        try:
            await files.prepare(request, response)  # made by middleware or an error handler
        except Exception as exc:
            return await answer_error(exc)
    try:
        await files.send(request, response, sink)
    except Exception as exc:
        _log(exc, "Exception while sending the file of %r", request)
        if sink.started:
            sink.abort()
            return False
        error = render_error(request, exc, debug)
        await sink.send(error, error.body)
    return True


def _log(exc: Exception, message: str, request: Request) -> None:
    if not (isinstance(exc, NecktieException) and exc.quiet):
        error_logger.error(
            message, request.target.decode("latin-1"), exc_info=exc, extra={"request": request}
        )
