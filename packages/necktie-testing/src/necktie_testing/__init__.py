"""necktie-testing: test Necktie apps over real sockets, streaming both ways."""

from .__about__ import __version__
from .live import LiveServer

__all__ = ["LiveServer", "__version__"]
