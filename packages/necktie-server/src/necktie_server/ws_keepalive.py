"""Keepalive pings of one open websocket: a ping every interval, the connection failed (1011) if no pong.

`WebSocketConnection` owns one; it hands over every PONG frame it receives and stops it when the
connection is lost. Timers only: the frames go out through the connection's protocol.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING

from pynecktie.websocket import INTERNAL_ERROR
from websockets.protocol import State

if TYPE_CHECKING:
    from .websocket import WebSocketConnection

error_logger = logging.getLogger("necktie.error")


class Keepalive:
    """Pings *conn*'s client every *interval* seconds (0: never); no matching pong within *timeout* seconds
    (0: never checked) fails the connection with 1011."""

    def __init__(self, conn: WebSocketConnection, interval: float, timeout: float) -> None:
        self.conn = conn
        self.interval = interval
        self.timeout = timeout
        self._payload: bytes | None = None
        self._ping_handle: asyncio.TimerHandle | None = None
        self._pong_handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Schedule the next ping."""
        if self.interval and not self.conn.lost:
            self._ping_handle = self.conn.loop.call_later(self.interval, self._ping)

    def pong(self, data: bytes | bytearray | memoryview) -> None:
        """A PONG frame carrying *data* arrived: if it answers the ping, the next one is scheduled."""
        if self._payload is not None and data == self._payload:
            self._payload = None
            if self._pong_handle is not None:
                self._pong_handle.cancel()
                self._pong_handle = None
            self.start()

    def stop(self) -> None:
        """Cancel the timers (the connection is gone)."""
        for handle in (self._ping_handle, self._pong_handle):
            if handle is not None:
                handle.cancel()

    def _ping(self) -> None:
        self._ping_handle = None
        conn = self.conn
        if conn.lost or conn.protocol.state is not State.OPEN:
            return
        self._payload = os.urandom(4)
        conn.protocol.send_ping(self._payload)
        conn.flush()
        if self.timeout:
            self._pong_handle = conn.loop.call_later(self.timeout, self._timed_out)
        else:
            self._payload = None
            self.start()

    def _timed_out(self) -> None:
        self._pong_handle = None
        conn = self.conn
        if conn.lost:
            return
        error_logger.info("Closing a websocket whose client did not answer a ping within %ss", self.timeout)
        conn.protocol.fail(INTERNAL_ERROR, "keepalive ping timeout")
        conn.flush()
        conn.wake()
