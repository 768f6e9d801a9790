"""How a connection ends (a part of `HttpProtocol`, kept here as the mixin `Ending`): an error in the input
answered in order, the client's FIN, read timeouts, graceful shutdown, and the lingering close.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from pynecktie.exceptions import ConnectionClosed, NecktieException, RequestTimeout

from . import upgrade
from .cycle import Cycle, Stage
from .state import BODY, CLOSING, EOF, HEAD, IDLE, LINGER, STOPPED, ConnectionState

if TYPE_CHECKING:
    from .protocol import HttpProtocol


LINGER_SECONDS = 2.0  # after an error answer, how long input is still read and dropped before closing
LINGER_BYTES = 1 << 22  # ...and how much of it


class Stop(NecktieException):
    """Raised inside a parser callback to stop parsing after the error was already handled."""


class Ending(ConnectionState):
    """The ways a connection stops reading requests and closes, on `HttpProtocol`."""

    if not TYPE_CHECKING:  # (the type checker would then refuse assignments to the protocol's slots)
        __slots__ = ()

    def eof_received(self) -> bool | None:  # noqa: D102
        # A half-closed client may still read its answer: keep the socket while a complete request runs.
        cycle = self.parsing
        if self.state is not LINGER and self.cycles and (cycle is None or cycle.complete):
            self.state = EOF  # nothing is left unread any more: close (not linger) after the answer
            for cycle in self.cycles:
                cycle.keep_alive = False
            return True
        # Otherwise the transport closes: lingering, it was the FIN waited for; mid-body, nothing can
        # answer the request (its handler learns why); idle, nothing is lost.
        if cycle is not None and not cycle.complete and cycle.buffer is not None:
            cycle.buffer.fail(ConnectionClosed("the client closed the connection mid-body"))
        if self.state < CLOSING:
            self.state = CLOSING
        return None

    def _linger(self) -> None:
        """Close after an answer while the client may still be sending (an error, an unread body).

        Closing a socket with unread input makes the kernel send a reset, which can destroy the answer
        before the client reads it. So: half-close (the client sees the end at once), then read and drop
        what still comes for a moment, and close on the client's FIN, the time limit or the byte limit.
        """
        transport = self.transport
        if transport is None or transport.is_closing() or not transport.can_write_eof():
            self.close()
            return
        self.state = LINGER
        self._discarded = 0
        self._unparsed = b""
        transport.write_eof()
        self.deadline.arm(LINGER_SECONDS)
        self.flow.resume_reading()

    def close(self) -> None:
        """Close after what is buffered has been written."""
        if self.state < CLOSING:
            self.state = CLOSING
        self.deadline.cancel()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _stop_parsing(self) -> None:
        """No further request is read: what was taken is answered, what still comes is left unread."""
        if self.state <= BODY:
            self.state = STOPPED
        self._unparsed = b""
        if self.state is not LINGER:
            self.flow.pause_reading()

    def _fail(self, exc: NecktieException) -> None:
        """The input cannot be parsed any further: answer once, in order, then close.

        What the request sent of its body is dropped at once: a cycle keeps no parts, and *exc* no
        traceback (whose frames would hold the body, and the cycle through them: only the collector could
        free that).
        """
        self._stop_parsing()
        exc.__traceback__ = None
        if self._body_rate is not None:
            self._body_rate.stop()
        if isinstance(exc, Stop):
            return
        cycle = self.parsing
        if cycle is not None and not cycle.complete:
            cycle.parts = None
            cycle.keep_alive = False
            if cycle.discarding:  # its answer went out: only its rest was being dropped
                self.close()
                return
            if cycle.task is not None:
                if cycle.buffer is not None:
                    cycle.buffer.fail(exc)
                return
            cycle.error = exc
        else:
            cycle = Cycle(cast("HttpProtocol", self), None, False)
            cycle.error = exc
            self.cycles.append(cycle)
        if self.cycles[0] is cycle:
            self._activate()

    def _upgrade(self, rest: bytes) -> None:
        """httptools stopped at an ``Upgrade`` request: a websocket route takes the connection over; any
        other upgrade is ignored (RFC 9110 §7.8) and the request read again as plain HTTP."""
        if len(self.cycles) == 1 and upgrade.take_over(cast("HttpProtocol", self), self.cycles[0]):
            self._stop_parsing()
            self._unparsed = rest  # the client's first frames, for hand_over
            return
        self._ignore_upgrade(rest)

    def _on_read_timeout(self) -> None:
        state = self.state
        if state > BODY:
            # Lingering: time is up. Stopped, at EOF or closing with nothing left to answer: close (the
            # transport may not have closed itself).
            if state is LINGER or (state <= CLOSING and not self.cycles):
                self.close()
            return
        if self.flow.read_paused or self._unparsed:
            # Not reading is the server's own back-pressure (a slow handler, a full pipeline): not the
            # client's delay. The clock starts again when reading does.
            self.deadline.arm(self.settings.request_timeout if state is HEAD else self.settings.body_timeout)
        elif state is HEAD:
            self._fail(RequestTimeout("Request header timeout"))
        elif state is BODY:
            self._fail(RequestTimeout("Request body timeout"))
        elif not self.cycles:
            settings = self.settings
            if self.parser is not None and settings.idle_wait < settings.keep_alive_timeout:
                # The first part of the keep-alive wait is over (ServerSettings.idle_wait): the parser
                # goes (the next request makes one), then the rest of the wait.
                self.parser = None
                self._url = b""
                self.deadline.arm(settings.keep_alive_timeout - settings.idle_wait)
            else:
                self.close()

    def drain(self) -> None:
        """The server drains: each answer whose head has not gone out says ``Connection: close``.

        An answer already under way keeps the head it sent; the next request on the connection, if one
        comes, is answered with ``Connection: close`` (the server's ``draining`` flag).
        """
        for cycle in self.cycles:
            if cycle.stage is Stage.IDLE:
                cycle.keep_alive = False

    def shutdown(self) -> None:
        """Close now if idle; otherwise after the response in progress.

        Idle means between two requests. A connection whose first request has not come yet, or whose
        request head is arriving, is not: closing it would lose a request the client has already sent
        (it may have been accepted during the drain). It is answered (with ``Connection: close``), or
        closed by its timers, or cut at the end of the graceful shutdown.
        """
        if not self.cycles and self.parsing is None:
            if self.state is HEAD or (self.state is IDLE and not self.requests_started):
                return
            self.close()
        else:
            for cycle in self.cycles:
                cycle.keep_alive = False
