"""necktie-testing: test Necktie apps over real sockets or in memory, streaming both ways."""

from .__about__ import __version__
from .client import AsyncTestClient, TestClient
from .duplex import AsyncDuplex, Duplex
from .live import LiveServer
from .raw import Arrival, RawConnection, RawResponse
from .transport import TestResponse

__all__ = [
    "Arrival",
    "AsyncDuplex",
    "AsyncTestClient",
    "Duplex",
    "LiveServer",
    "RawConnection",
    "RawResponse",
    "TestClient",
    "TestResponse",
    "__version__",
]
