"""How a connection becomes HTTP/2, both ways with ``HTTP2`` on: over TLS when ALPN chose ``h2``
(`HttpProtocol.connection_made` asks `negotiated`), or in cleartext when its first bytes are the
connection preface (prior knowledge: httptools stops at ``PRI * HTTP/2.0``, and `from_preface` gives the
bytes read from it on). `adopt` then hands the transport and its `FlowControl` to an
`necktie_server.h2_connection.Http2Connection`, which from then on is its protocol.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .h2_connection import Http2Connection
from .h2_guard import PREFACE
from .state import UPGRADED

if TYPE_CHECKING:
    from .protocol import HttpProtocol


def adopt(http: HttpProtocol, received: bytes) -> None:
    """Make *http*'s connection an HTTP/2 one; *received* is what was read of it so far, from the preface
    on (nothing yet over TLS)."""
    h2conn = Http2Connection(http.server, http.flow, http.conn_info, http._context)
    http.deadline.cancel()
    http.state = UPGRADED
    http.server.connections.discard(http)
    http.server.connections.add(h2conn)
    http.flow.transport.set_protocol(h2conn)
    h2conn.start(received)


def negotiated(transport: asyncio.BaseTransport) -> bool:
    """True when ALPN chose ``h2`` for this TLS connection."""
    ssl_object = transport.get_extra_info("ssl_object")
    return ssl_object is not None and ssl_object.selected_alpn_protocol() == "h2"


def from_preface(data: bytes) -> bytes:
    """The connection's bytes from its preface on, given *data*, the read in which httptools found the
    preface's end (the reads before it held the preface's start)."""
    for start in range(len(PREFACE)):
        tail = PREFACE[start:]
        if data.startswith(tail):
            return PREFACE + data[len(tail) :]
    return data
