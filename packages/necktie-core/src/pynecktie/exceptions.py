"""HTTP errors that handlers raise and the pipeline turns into responses."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .response import HTTPResponse


# RFC 9110's names where Python 3.11 and 3.12 still have RFC 7231's (3.13 has these): the same answers on
# every Python.
_RFC9110_PHRASES = {413: "Content Too Large", 416: "Range Not Satisfiable", 422: "Unprocessable Content"}


def status_phrase(status: int) -> str:
    """The reason phrase of *status*, RFC 9110's (empty for an unknown code)."""
    phrase = _RFC9110_PHRASES.get(status)
    if phrase is not None:
        return phrase
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class NecktieException(Exception):
    """Base of every Necktie error; ``status_code`` is the HTTP status the client receives."""

    status_code: int = 500
    quiet: bool = False
    headers: dict[str, str]

    def __init__(
        self,
        message: str | None = None,
        status_code: int | None = None,
        *,
        headers: dict[str, str] | None = None,
        quiet: bool | None = None,
    ) -> None:
        if status_code is not None:
            self.status_code = status_code
        if quiet is not None:
            self.quiet = quiet
        if message is None:
            message = status_phrase(self.status_code)
        self.message = message
        self.headers = dict(headers or {})
        super().__init__(message)

    def to_response(self) -> HTTPResponse | None:
        """A response of this error's own (e.g. JSON details) instead of the default error page, or None."""
        return None


class BadRequest(NecktieException):
    """400: the request is malformed."""

    status_code = 400
    quiet = True


InvalidUsage = BadRequest


class Unauthorized(NecktieException):
    """401: authentication is required."""

    status_code = 401
    quiet = True


class Forbidden(NecktieException):
    """403: the client may not do this."""

    status_code = 403
    quiet = True


class NotFound(NecktieException):
    """404: nothing is served at this path."""

    status_code = 404
    quiet = True


class MethodNotAllowed(NecktieException):
    """405: the path exists but not for this method; ``allowed`` lists the methods that are."""

    status_code = 405
    quiet = True

    def __init__(self, message: str | None = None, *, allowed: list[str] | None = None) -> None:
        self.allowed = sorted(allowed or [])
        super().__init__(message, headers={"Allow": ", ".join(self.allowed)} if allowed else None)


class RequestTimeout(NecktieException):
    """408: the client took too long to send its request."""

    status_code = 408
    quiet = True


class PayloadTooLarge(NecktieException):
    """413: the request body is larger than the configured limit."""

    status_code = 413
    quiet = True


class RangeNotSatisfiable(NecktieException):
    """416: the requested byte range lies outside the resource."""

    status_code = 416
    quiet = True


class ExpectationFailed(NecktieException):
    """417: the request's ``Expect`` header asks for something other than ``100-continue``."""

    status_code = 417
    quiet = True


class UnprocessableEntity(NecktieException):
    """422: the body is well-formed but fails validation."""

    status_code = 422
    quiet = True


class ServerError(NecktieException):
    """500: the server failed to handle the request."""

    status_code = 500


class ServiceUnavailable(NecktieException):
    """503: the server cannot answer now (for instance the handler exceeded ``RESPONSE_TIMEOUT``)."""

    status_code = 503


class ConnectionClosed(NecktieException):
    """The client went away: raised by ``request.stream.get()`` and ``response.write()``."""

    status_code = 499
    quiet = True


class HeaderNotFound(BadRequest):
    """A required header is missing."""


def find_handler(
    tables: list[list[tuple[tuple[type[BaseException], ...], Callable[..., Any]]]], exc: BaseException
) -> Callable[..., Any] | None:
    """The handler registered for *exc*: the first table (a blueprint's, then the app's) with a handler
    for its class or the nearest base class wins."""
    for table in tables:
        for cls in type(exc).__mro__:
            for exceptions, handler in table:
                if cls in exceptions:
                    return handler
    return None
