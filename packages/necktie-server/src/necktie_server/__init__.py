"""necktie-server: Necktie's HTTP/1.1 server on httptools and uvloop, with streaming flow control."""

from .__about__ import __version__
from .errors import StartupError
from .server import Server, serve

__all__ = ["Server", "StartupError", "__version__", "serve"]
