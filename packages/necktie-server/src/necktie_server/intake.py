"""Taking in a request body: httptools' body callbacks and the bounds on what the parser takes silently (a
part of `HttpProtocol`, kept here as the mixin `BodyIntake`).

A buffered route's body is collected in ``cycle.parts`` up to the route's limit; a stream route's goes
into its `BodyBuffer`, which pauses reading when full. ``100 Continue`` is sent when the handler (or, for
a buffered route, the server) is about to read a body the client holds back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pynecktie.exceptions import BadRequest, PayloadTooLarge, RequestTimeout

from . import h1
from .cycle import Cycle, Stage
from .rates import BodyRate
from .state import BODY, HEAD, IDLE, ConnectionState

SMALL_CHUNK = 4096  # body pieces under this are joined while buffered, bounding per-piece overhead


class BodyIntake(ConnectionState):
    """The parser callbacks of a request body, on `HttpProtocol`."""

    if not TYPE_CHECKING:  # (the type checker would then refuse assignments to the protocol's slots)
        __slots__ = ()

    def on_chunk_header(self) -> None:  # noqa: D102
        self._chunk_headers += 1

    def on_body(self, body: bytes) -> None:  # noqa: D102
        self._body_fed += len(body)
        rate = self._body_rate
        if rate is not None and rate.running:
            rate.received += len(body)
        else:
            self._start_body_rate(len(body))
        cycle = self.parsing
        if cycle is None:
            return
        buffer = cycle.buffer
        if buffer is not None:
            buffer.feed(body)
            return
        cycle.received += len(body)
        if cycle.limit is not None and cycle.received > cycle.limit:
            raise PayloadTooLarge(f"Request body exceeds the limit of {cycle.limit} bytes")
        parts = cycle.parts
        if parts is None:
            cycle.parts = [body]
        elif len(body) < SMALL_CHUNK and len(parts[-1]) < SMALL_CHUNK:
            # Tiny chunks are joined as they come, so a body of many 1-byte chunks is not a list of them.
            tail = parts[-1]
            if type(tail) is bytes:
                tail = parts[-1] = bytearray(tail)
            tail += body
        else:
            parts.append(body)

    def on_message_complete(self) -> None:  # noqa: D102
        cycle = self.parsing
        if cycle is None:
            return
        cycle.complete = True
        self.parsing = None
        if self.state is BODY:
            self.state = IDLE
        self._chunked = False
        if self._body_rate is not None:
            self._body_rate.stop()
        if cycle.buffer is not None:
            cycle.buffer.finish()
        else:
            parts = cycle.parts
            if parts is not None:
                # (a cycle being read has its request)
                cycle.request.body = bytes(parts[0]) if len(parts) == 1 else b"".join(parts)  # type: ignore[union-attr]
                cycle.parts = None
        if cycle.discarding and not self.cycles:
            self.deadline.arm(self.settings.idle_wait)  # its answer went out: now idle
        else:
            self.deadline.disarm()
        # (a request read whole is started once the parser returns: HttpProtocol._activate)

    def _on_body_wait(self) -> None:
        self.deadline.arm(self.settings.body_timeout)

    def _start_body_rate(self, received: int) -> None:
        """A body's first bytes: REQUEST_MIN_RATE's clock starts (a client waiting for ``100 Continue`` is
        not timed before it sends)."""
        settings = self.settings
        if not settings.request_min_rate or self.state is not BODY:
            return
        if self._body_rate is None:
            rate, grace = settings.request_min_rate, settings.request_min_rate_grace
            self._body_rate = BodyRate(self.loop, self.flow, rate, grace, self._on_slow_body)
        self._body_rate.start(received)

    def _on_slow_body(self) -> None:
        if self.state is BODY:
            self._fail(RequestTimeout("Request body too slow"))

    def _check_fed(self, fed: int, in_head: bool, begun: int, idle: bool) -> bool:
        """Bound the bytes httptools takes without a callback: True if the request was failed.

        A head past its size cap, empty lines between requests, and chunk extensions are all skipped
        or buffered by the parser without telling us, so they are counted here from what was fed.
        """
        if in_head and self.state is HEAD:
            self._head_fed += fed
            if self._head_fed > self.settings.max_line_size + self.settings.max_header_size + 1024:
                self._fail(h1.RequestHeaderFieldsTooLarge("Request header section too large"))
                return True
        elif idle and begun == self._messages_begun and self.state is not HEAD and self.parsing is None:
            self._idle_fed += fed
            if self._idle_fed > self.settings.max_line_size:
                self._fail(BadRequest("Too many empty lines before a request"))
                return True
        return self._chunked and self._count_chunk_overhead(fed)

    def _count_chunk_overhead(self, fed: int) -> bool:
        """Bound chunk extensions, which httptools skips silently: True if the request was failed.

        Bytes fed minus body bytes is the framing of the chunks read; per chunk header it must stay
        near the extension cap, and bytes without any chunk header must not pile up past it.
        """
        if self._head_in_piece:
            self._head_in_piece = False
        else:
            overhead = fed - self._body_fed
            headers = self._chunk_headers
            self._chunk_gap = overhead // headers if headers else self._chunk_gap + overhead
            if self._chunk_gap > self.settings.max_chunk_extension_size + 64:
                self._fail(BadRequest("Chunk extensions too long"))
                return True
        self._body_fed = 0
        self._chunk_headers = 0
        return False


def cycle_continue(cycle: Cycle) -> Callable[[], None]:
    """A callback that sends ``100 Continue`` for *cycle* unless its body is already here."""

    def send() -> None:
        if not cycle.complete and cycle.stage is Stage.IDLE:
            cycle.protocol.write(h1.CONTINUE)

    return send
