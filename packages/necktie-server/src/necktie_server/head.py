"""Reading a request head: httptools' head callbacks, the size caps, and the framing checks (a part of
`HttpProtocol`, kept here as the mixin `HeadReader`).

Its last callback turns the head into a `Request` and its `Cycle`, decides how the body is framed
(Content-Length or chunked, its limit, ``Expect: 100-continue``), and answers what is invalid (the
request's cycle carries the error, answered in turn).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httptools
from pynecktie.body_limit import refuse_at_head
from pynecktie.exceptions import BadRequest, NecktieException
from pynecktie.request import Request
from pynecktie.response import HTTPResponse

from . import h1
from .body import BodyBuffer
from .cycle import Cycle, Stage
from .ending import Stop
from .intake import cycle_continue
from .state import BODY, HEAD, IDLE, ConnectionState


class HeadReader(ConnectionState):
    """The parser callbacks of a request head, on `HttpProtocol`."""

    if not TYPE_CHECKING:  # (the type checker would then refuse assignments to the protocol's slots)
        __slots__ = ()

    def on_message_begin(self) -> None:  # noqa: D102
        if self.state is not IDLE:
            raise Stop()  # parsing stopped within this read (a last answer went out): nothing more is taken
        self.state = HEAD
        self._head_deadline_armed = False
        self._head_fed = self._head_size = self._idle_fed = 0
        self._url = b""
        self._headers = []
        self._special = {}
        self._messages_begun += 1

    def on_url(self, url: bytes) -> None:  # noqa: D102
        self._url += url
        if len(self._url) > self._line_cap:
            raise h1.URITooLong("Request target too long")

    def on_header(self, name: bytes, value: bytes) -> None:  # noqa: D102
        size = self._head_size = self._head_size + len(name) + len(value) + 4
        if size > self._quick_cap:  # below it no cap can be passed (ServerSettings.header_quick_cap)
            settings = self.settings
            if (
                size > settings.max_header_size
                or len(value) > settings.max_line_size
                or len(self._headers) >= settings.max_headers
            ):
                raise h1.RequestHeaderFieldsTooLarge("Request header fields too large")
        if self.state is not HEAD:
            return  # a trailer of a chunked body: counted, never added to the request's headers
        if value and value[-1] in _OWS:
            value = value.rstrip(b" \t")  # the parser strips leading whitespace only (RFC 9110 §5.5)
        self._headers.append((name, value))
        if len(name) in _SPECIAL_LENGTHS:  # a length test first: most names are not framing headers
            lname = name.lower()
            if lname in _FRAMING_HEADERS:
                self._special.setdefault(lname, []).append(value)

    def on_headers_complete(self) -> None:  # noqa: D102
        parser: httptools.HttpRequestParser = self.parser  # type: ignore[assignment]  # (its own callback)
        self.state = BODY
        version = parser.get_http_version()
        if version != "1.1" and version != "1.0":
            if version == "0.9":
                raise BadRequest("HTTP/0.9 is not supported")
            h1.check_version(version)
        special = self._special
        hosts = special.get(b"host")
        if hosts is None or len(hosts) != 1 or hosts[0] != self._good_host:
            h1.check_host(hosts or [], version)
            if hosts:
                self._good_host = hosts[0]
        method = parser.get_method()
        target = self._url
        authority = None
        if target[:1] != b"/" or method == b"CONNECT":
            target, authority = h1.split_target(target, method)
        headers = self._headers
        # The request holds the head from now on: an idle connection keeps none of it.
        self._headers, self._special = _NO_HEADERS, _NO_SPECIAL
        if authority is not None:
            headers = _with_host(headers, authority)
        keep_alive = self.settings.keep_alive and parser.should_keep_alive() and not self.server.draining
        request = Request(
            self.app, _METHODS.get(method) or method.decode("ascii"), target, version, headers, self.conn_info
        )
        # (self is the HttpProtocol this mixin is part of; cast() would cost a function call per request)
        cycle = Cycle(self, request, keep_alive)  # type: ignore[arg-type]
        max_requests = self.settings.keep_alive_max_requests
        self.requests_started += 1
        if max_requests and self.requests_started >= max_requests:
            cycle.keep_alive = False
        self.parsing = cycle
        self.cycles.append(cycle)
        length = None
        try:
            if target == b"*":
                # OPTIONS * is the server's to answer (with its methods): no route runs.
                cycle.reply = HTTPResponse(b"", 200, {"allow": _ALLOW})
                route = None
            else:
                route = self.app.match(request)
            if len(special) > 1 or (special and hosts is None):
                # A body or an expectation (the common GET has no framing header but Host).
                if b"transfer-encoding" in special:
                    if b"content-length" in special:
                        raise BadRequest("Both Content-Length and Transfer-Encoding")
                    h1.check_transfer_encoding(special[b"transfer-encoding"])
                    self._chunked = self._head_in_piece = True
                    self._chunk_gap = 0
                    if version == "1.0":
                        cycle.keep_alive = False  # RFC 9112 §6.1: process it, then close
                elif b"content-length" in special:
                    length = h1.parse_content_length(special[b"content-length"])
                cycle.limit = self.app.body_limit(route)
                refuse_at_head(route, length, cycle.limit)
                cycle.expect_continue = h1.check_expect(special.get(b"expect", []), version)
        except NecktieException as exc:
            cycle.error = exc
            cycle.keep_alive = False
            self._stop_parsing()
            self._activate()
            raise Stop() from None
        if route is not None and route.stream:
            buffer = cycle.buffer = BodyBuffer(self.settings.request_buffer_size)
            buffer.on_drained = self.maybe_resume
            buffer.on_wait = self._on_body_wait
            request.stream = self.app.make_stream(request, buffer, length)
            if cycle.expect_continue:
                buffer.on_first_read = cycle_continue(cycle)
            if self.cycles[0] is cycle:
                self._activate()
        elif cycle.expect_continue and self.cycles[0] is cycle:
            self._activate()

    def _ignore_upgrade(self, rest: bytes) -> None:
        """Serve an ``Upgrade`` request the server does not upgrade as plain HTTP (RFC 9110 §7.8).

        httptools has ended the request at its head, leaving its body to the new protocol: the request
        is dropped, and its head (without ``Upgrade``) fed again to a new parser, followed by *rest*.
        """
        cycles = self.cycles
        cycle = cycles[-1] if cycles else None
        if cycle is None or cycle.request is None or cycle.error is not None or cycle.stage is not Stage.IDLE:
            self._stop_parsing()  # already answered (OPTIONS *) or failed: nothing more is read
            for pending in cycles:
                pending.keep_alive = False
            if not cycles:
                self.close()
            return
        cycles.pop()
        if cycle.task is not None:
            cycle.task.cancel()  # created a moment ago, in this same read: it has not run
        self.requests_started -= 1
        parser: httptools.HttpRequestParser = self.parser  # type: ignore[assignment]  # (it stopped on this head)
        head = [b"%s %s HTTP/%s\r\n" % (parser.get_method(), self._url, parser.get_http_version().encode())]
        head += [
            b"%s: %s\r\n" % field for field in cycle.request.raw_headers if field[0].lower() != b"upgrade"
        ]
        head.append(b"\r\n")
        self.parser = httptools.HttpRequestParser(self)
        self.data_received(b"".join(head) + rest)


def _with_host(headers: list[tuple[bytes, bytes]], authority: bytes) -> list[tuple[bytes, bytes]]:
    """*headers* with ``Host`` set to *authority*: an absolute-form target's authority wins (RFC 9112)."""
    kept = [(name, value) for name, value in headers if name.lower() != b"host"]
    kept.append((b"Host", authority))
    return kept


_ALLOW = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
# Between heads (never added to: a head's fields get lists of their own from on_message_begin).
_NO_HEADERS: list[tuple[bytes, bytes]] = []
_NO_SPECIAL: dict[bytes, list[bytes]] = {}
_OWS = (32, 9)
_FRAMING_HEADERS = frozenset({b"host", b"content-length", b"transfer-encoding", b"expect"})
_METHODS = {m.encode(): m for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")}
_SPECIAL_LENGTHS = frozenset(len(name) for name in _FRAMING_HEADERS)
