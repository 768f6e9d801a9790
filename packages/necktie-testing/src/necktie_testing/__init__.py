"""necktie-testing: test Necktie apps over real sockets or in memory, streaming both ways."""

from .__about__ import __version__
from .client import AsyncTestClient, TestClient
from .duplex import AsyncDuplex, Duplex
from .live import LiveServer
from .raw import Arrival, RawConnection, RawResponse
from .transport import TestResponse
from .websocket import AsyncWebSocketSession, WebSocketRejected, WebSocketSession

__all__ = [
    "Arrival",
    "AsyncDuplex",
    "AsyncTestClient",
    "AsyncWebSocketSession",
    "Duplex",
    "LiveServer",
    "RawConnection",
    "RawResponse",
    "TestClient",
    "TestResponse",
    "WebSocketRejected",
    "WebSocketSession",
    "__version__",
]
