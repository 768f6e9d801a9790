"""The default error response: text, HTML or JSON as ``Accept`` prefers; no traceback unless DEBUG."""

from __future__ import annotations

import html as _html
import logging
import traceback
from typing import TYPE_CHECKING

from . import _json
from .exceptions import ConnectionClosed, NecktieException, status_phrase
from .heads import ERROR_BODY, ERROR_CONTENT_TYPE
from .response import HTTPResponse

if TYPE_CHECKING:
    from .request import Request
    from .seam import ResponseSink

error_logger = logging.getLogger("necktie.error")


_FORMATS = {
    "application/json": "json",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/plain": "text",
}


def _preferred(request: Request | None) -> str:
    """json, html or text: ``FALLBACK_ERROR_FORMAT`` when set to one of them; else the format the
    ``Accept`` header ranks highest (q-values honoured, the first listed winning ties); without a
    preference, JSON for a JSON request and plain text otherwise."""
    if request is None:
        return "text"
    fallback: str | None = request.app.config.get("FALLBACK_ERROR_FORMAT")
    if fallback in ("json", "html", "text"):
        return fallback
    best, best_q = "", 0.0
    for item in request.headers.get("accept", "").split(",")[:32]:
        media, _, params = item.partition(";")
        kind = _FORMATS.get(media.strip().lower())
        if kind is None:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q:
            best, best_q = kind, q
    if best:
        return best
    return "json" if request.content_type.startswith("application/json") else "text"


def _encodable(text: str) -> str:
    """*text* as UTF-8 can carry it: a request path may hold bytes that are not UTF-8 (``/%ff`` decodes to a
    lone surrogate), and a message quoting it must not make the error answer itself fail."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode()
    return text


def render_error(request: Request | None, exc: BaseException, debug: bool) -> HTTPResponse:
    """The response for *exc*: its status and message, headers it carries, and a traceback only in debug."""
    if isinstance(exc, NecktieException):
        own = exc.to_response()
        if own is not None:
            return own
        status, message, headers = exc.status_code, exc.message, dict(exc.headers)
    else:
        status, headers = 500, {}
        message = "The server encountered an internal error and cannot complete your request."
    if not 100 <= status <= 599:
        status = 500
    title = f"{status} — {status_phrase(status)}"
    tb = "".join(traceback.format_exception(exc)) if debug and not isinstance(exc, NecktieException) else ""
    message, tb = _encodable(message), _encodable(tb)
    kind = _preferred(request)
    if kind == "json":
        payload: dict[str, object] = {
            "description": status_phrase(status),
            "status": status,
            "message": message,
        }
        if tb:
            payload["traceback"] = tb
        return HTTPResponse(_json.dumps(payload), status, headers, "application/json")
    if kind == "html":
        body = f"<!DOCTYPE html><html><head><meta charset=utf-8><title>{_html.escape(title)}</title></head>"
        body += f"<body><h1>{_html.escape(title)}</h1><p>{_html.escape(message)}</p>"
        if tb:
            body += f"<pre>{_html.escape(tb)}</pre>"
        return HTTPResponse(body + "</body></html>", status, headers, "text/html; charset=utf-8")
    body = f"{title}\n\n{message}\n" + (f"\n{tb}" if tb else "")
    return HTTPResponse(body, status, headers, "text/plain; charset=utf-8")


def last_resort_error() -> HTTPResponse:
    """The plain 500 sent when even an error's own page could not be built (it cannot fail itself)."""
    return HTTPResponse(ERROR_BODY, 500, None, ERROR_CONTENT_TYPE)


async def answer_failure(request: Request, sink: ResponseSink, exc: Exception) -> None:
    """Sending a response failed: a plain 500 if nothing went out yet, else cut the connection.

    The pipeline's promise to every carrier: a request is never left without an answer or a close.
    """
    if isinstance(exc, ConnectionClosed):  # the client left: nothing to answer, nothing to log
        sink.abort()
        return
    error_logger.error(
        "Could not send the response of %r",
        request.target.decode("latin-1"),
        exc_info=exc,
        extra={"request": request},
    )
    if not sink.started:
        try:
            error = last_resort_error()
            await sink.send(error, error.body)
            return
        except Exception:  # the carrier cannot send even that: dropping the connection is the answer
            pass
    sink.abort()
