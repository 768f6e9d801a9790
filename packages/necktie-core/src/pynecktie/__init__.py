"""Necktie: a fast async web framework whose signature is request and response streaming.

This package (`necktie-core`) holds the application, routing, requests, responses and errors; it does no
network I/O (the files it serves are opened in a worker thread). Serve an app with ``app.run()``
(``pip install necktie-server``) or any ASGI server.
"""

from .__about__ import __version__
from .app import Necktie
from .blueprints import Blueprint, BlueprintGroup
from .config import Config
from .request import Request
from .response import HTTPResponse, StreamingHTTPResponse
from .validation import validate

__all__ = [
    "Blueprint",
    "BlueprintGroup",
    "Config",
    "HTTPResponse",
    "Necktie",
    "Request",
    "StreamingHTTPResponse",
    "__version__",
    "validate",
]
