"""An HTTP connection's state: the `State` of its input side and `ConnectionState`, the fields every part
of `HttpProtocol` shares, each with the one thing it means (see the theory of operation in
`necktie_server.protocol`).
"""

from __future__ import annotations

import asyncio
import contextvars
from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httptools
    from pynecktie import Necktie
    from pynecktie.exceptions import NecktieException
    from pynecktie.request import ConnInfo

    from .cycle import Cycle
    from .flow_control import FlowControl
    from .rates import BodyRate
    from .server import ServerState
    from .settings import ServerSettings
    from .timers import Deadline


class State(IntEnum):
    """What a connection does with what the client sends. Ordered: every state after BODY parses nothing.

    An `IntEnum` so that ``state > BODY`` (the hot path's one question: "still reading requests?") is a C
    integer comparison.
    """

    IDLE = 0  # between requests: the next head may come (the keep-alive timer runs while nothing is pending)
    HEAD = 1  # a request head is arriving (the head deadline runs)
    BODY = 2  # a request body is arriving (the body deadline runs)
    STOPPED = 3  # parsing stopped early (an error, a refused upgrade, a last request): answer, then linger
    EOF = 4  # the client sent its FIN: answer what was read, then close
    LINGER = 5  # half-closed after the last answer: input is read and dropped until FIN, time or bytes
    CLOSING = 6  # the transport is closing: what is buffered goes out, then connection_lost
    UPGRADED = 7  # the transport belongs to a WebSocket connection now
    CLOSED = 8  # the connection is gone


# Module globals for the hot path: a global lookup is cheaper than an attribute of the enum class.
IDLE, HEAD, BODY, STOPPED, EOF, LINGER, CLOSING, UPGRADED, CLOSED = State


class ConnectionState(asyncio.Protocol):
    """What `HttpProtocol` and its parts (`HeadReader`, `BodyIntake`, `Ending`) share: declarations only.

    The protocol's ``__slots__`` hold these; the methods one part calls on another are declared here too,
    for the type checker.
    """

    if not TYPE_CHECKING:  # (the type checker would then refuse assignments to the protocol's slots)
        __slots__ = ()

    server: ServerState
    app: Necktie
    settings: ServerSettings
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport | None  # None until connection_made
    flow: FlowControl
    state: State
    conn_info: ConnInfo
    cycles: list[Cycle]  # the requests read and not yet answered, in order; the first is being answered
    parsing: Cycle | None  # the request whose body is arriving
    parser: httptools.HttpRequestParser | None  # made by a read, dropped while idle (settings.idle_wait)
    deadline: Deadline  # the input side's one timer: keep-alive, head, body or lingering, by state
    requests_started: int
    _context: contextvars.Context  # copied for each request's task
    _unparsed: bytes  # read but not parsed yet (reading is paused meanwhile); after a 101, the first frames
    _discarded: int  # bytes dropped while lingering
    # the head being read (HeadReader)
    _url: bytes
    _headers: list[tuple[bytes, bytes]]
    _special: dict[bytes, list[bytes]]  # the framing headers' values, by lower-case name
    _good_host: bytes  # the last Host that passed the check (a connection's requests usually repeat it)
    _head_size: int  # header bytes counted so far (names, values and their separators)
    _head_fed: int  # bytes fed while inside this head (the parser skips some silently)
    _head_deadline_armed: bool  # the head deadline runs from the head's first read, not from each read
    _messages_begun: int  # requests begun on this connection (tells whether a feed began one)
    _idle_fed: int  # bytes fed between requests without one beginning (empty lines)
    _line_cap: int
    _quick_cap: int  # a head size under which no header cap (size, line, count) can have been passed
    # the body being read (BodyIntake)
    _chunked: bool  # the body being read is chunked
    _head_in_piece: bool  # the piece being fed also held the head: its framing bytes say nothing of chunks
    _chunk_headers: int  # chunk headers parsed in the piece being fed
    _chunk_gap: int  # framing bytes per chunk header (or since the last one)
    _body_fed: int  # body bytes the parser produced from the piece being fed
    _body_rate: BodyRate | None  # REQUEST_MIN_RATE's clock (made at the first body, if the rate is on)

    if TYPE_CHECKING:

        def write(self, data: bytes) -> None:
            """Hand bytes to the transport."""

        def spawn(self, coro: Any) -> asyncio.Task[None]:
            """Run a request's work in a task of its own."""

        def maybe_resume(self) -> None:
            """Resume reading once nothing blocks it."""

        def close(self) -> None:
            """Close after what is buffered has been written."""

        def _activate(self, eager: bool = False) -> None: ...
        def _fail(self, exc: NecktieException) -> None: ...
        def _stop_parsing(self) -> None: ...
        def _linger(self) -> None: ...
        def _on_body_wait(self) -> None: ...
        def _ignore_upgrade(self, rest: bytes) -> None: ...
