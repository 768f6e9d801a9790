"""Typed application settings: a pydantic model, settable as attributes and from ``NECKTIE_<NAME>``."""

from __future__ import annotations

import os
import runpy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from .cors_settings import check_cors, cors_names, cors_origins

ENV_PREFIX = "NECKTIE_"
# The default COMPRESSION_TYPES: exact types, prefixes ending in "/", suffixes starting with "+".
COMPRESSIBLE_TYPES = (
    "text/",
    "application/json",
    "application/x-ndjson",
    "application/javascript",
    "application/xml",
    "application/wasm",
    "image/svg+xml",
    "+json",
    "+xml",
)


class Config(BaseModel):
    """Every setting the framework reads, with its default. Extra upper-case keys are allowed.

    Values are validated when set (``app.config.REQUEST_TIMEOUT = -1`` raises), and on creation
    ``NECKTIE_<NAME>`` environment variables override the defaults.
    """

    model_config = ConfigDict(validate_assignment=True, extra="allow", frozen=False)

    DEBUG: bool = False
    # Limits
    REQUEST_MAX_SIZE: NonNegativeInt = 100_000_000
    REQUEST_BUFFER_SIZE: PositiveInt = 1 << 20
    REQUEST_MAX_LINE_SIZE: PositiveInt = 8192
    REQUEST_MAX_HEADER_SIZE: PositiveInt = 16384
    REQUEST_MAX_HEADERS: PositiveInt = 100
    REQUEST_MAX_CHUNK_EXTENSION_SIZE: PositiveInt = 4096
    REQUEST_MAX_QUERY_FIELDS: PositiveInt = 1000
    # multipart/form-data bodies, for request.form and request.stream.multipart() alike (pynecktie.multipart)
    MULTIPART_MAX_PARTS: PositiveInt = 1000
    MULTIPART_MAX_FIELD_SIZE: PositiveInt = 1 << 20
    MULTIPART_MAX_HEADER_SIZE: PositiveInt = 8192
    MULTIPART_MAX_HEADERS: PositiveInt = 16
    PIPELINE_MAX_REQUESTS: PositiveInt = 64
    MAX_CONNECTIONS: NonNegativeInt = 10_000
    # Timeouts (seconds)
    REQUEST_TIMEOUT: NonNegativeFloat = 60.0
    REQUEST_BODY_TIMEOUT: NonNegativeFloat = 60.0
    RESPONSE_TIMEOUT: NonNegativeFloat = 60.0
    RESPONSE_TIMEOUT_STREAMS: bool = False
    WRITE_TIMEOUT: NonNegativeFloat = 60.0
    # Minimum data rates (bytes per second, 0: off), each after a grace period (seconds) counted only
    # while the server waits on the client: a body that drips is a 408, a reader that trickles is cut.
    REQUEST_MIN_RATE: NonNegativeFloat = 240.0
    REQUEST_MIN_RATE_GRACE: NonNegativeFloat = 5.0
    RESPONSE_MIN_RATE: NonNegativeFloat = 240.0
    RESPONSE_MIN_RATE_GRACE: NonNegativeFloat = 5.0
    KEEP_ALIVE: bool = True
    KEEP_ALIVE_TIMEOUT: NonNegativeFloat = 5.0
    KEEP_ALIVE_MAX_REQUESTS: NonNegativeInt = 0
    GRACEFUL_SHUTDOWN_TIMEOUT: NonNegativeFloat = 15.0
    # Health and drain (pynecktie.health; the drain is necktie-server's): probe paths (None: no route), how
    # long a readiness check may take, and how long a SIGTERM'd server keeps accepting while readiness is 503
    LIVENESS_PATH: str | None = Field(default=None, pattern=r"^/[^<>{}\s]*$")
    READINESS_PATH: str | None = Field(default=None, pattern=r"^/[^<>{}\s]*$")
    READINESS_CHECK_TIMEOUT: NonNegativeFloat = 2.0
    DRAIN_DELAY: NonNegativeFloat = 0.0
    # Write flow control: writes wait while the transport buffers more than this many bytes.
    WRITE_BUFFER_HIGH: PositiveInt = 1 << 18
    # Proxies and logging
    PROXIES_COUNT: NonNegativeInt = 0
    REAL_IP_HEADER: str | None = None
    FORWARDED_SECRET: str | None = None
    # None: on when one process serves, off with several workers (each line costs every worker).
    ACCESS_LOG: bool | None = None
    SERVER_NAME: str | None = None
    # Serving (necktie-server: the ``necktie`` command and ``app.run()``; their options override these)
    WORKERS: PositiveInt = 1
    BACKLOG: PositiveInt = 1024
    TLS_CERT: str | None = None
    TLS_KEY: str | None = None
    # Response compression (pynecktie.compression): off unless turned on here or per route/blueprint
    COMPRESSION: bool = False
    COMPRESSION_MIN_SIZE: NonNegativeInt = 500  # bodies known to be smaller go out as they are
    COMPRESSION_TYPES: list[str] = Field(default_factory=lambda: list(COMPRESSIBLE_TYPES))
    COMPRESSION_CODINGS: list[str] = Field(default_factory=lambda: ["br", "zstd", "gzip"])  # preferred first
    # Seeing what happens (docs/observability.md)
    REQUEST_ID: bool = False  # echo each request's id on its response and put it on log records
    REQUEST_ID_HEADER: str = Field(default="X-Request-ID", pattern=r"^[0-9A-Za-z-]+$")  # read and echoed
    LOG_FORMAT: str = Field(default="text", pattern="^(text|json)$")  # json: one object per line
    METRICS_PATH: str | None = Field(default=None, pattern=r"^/[^\s<>{}]*$")  # Prometheus; None: off
    TRACING: bool = False  # OpenTelemetry server spans (necktie-core[otel])
    # CORS (pynecktie.cors): off while CORS_ORIGINS is empty; a route's or blueprint's cors= overrides these
    CORS_ORIGINS: list[str] = Field(default_factory=list)  # origins, "*", or regexes starting with "^"
    CORS_METHODS: list[str] = Field(default_factory=lambda: ["*"])  # "*": every method the path serves
    CORS_HEADERS: list[str] = Field(default_factory=lambda: ["*"])  # request headers; "*": any asked for
    CORS_EXPOSE_HEADERS: list[str] = Field(default_factory=list)  # response headers scripts may read
    CORS_CREDENTIALS: bool = False  # cookies and Authorization: never with "*" origins
    CORS_MAX_AGE: NonNegativeInt = 600  # seconds a browser may keep a preflight's answer
    # Encoding
    JSON_ENCODER: str = Field(default="orjson", pattern="^(orjson|stdlib)$")
    # WebSockets (0 disables a limit or a timer)
    WEBSOCKET_MAX_SIZE: NonNegativeInt = 1 << 20  # largest incoming message; bigger: close 1009
    WEBSOCKET_MAX_FRAGMENTS: NonNegativeInt = 1024  # most frames one incoming message may come in; more: 1009
    WEBSOCKET_PING_INTERVAL: NonNegativeFloat = 20.0  # seconds between keepalive pings
    WEBSOCKET_PING_TIMEOUT: NonNegativeFloat = 20.0  # no pong by then: the peer is dead, close with 1011
    WEBSOCKET_CLOSE_TIMEOUT: NonNegativeFloat = 10.0  # how long the closing handshake may take
    WEBSOCKET_PERMESSAGE_DEFLATE: bool = True  # compress when the client offers permessage-deflate
    # HTTP/2 (necktie-server[http2], docs/http2.md): TLS by ALPN, cleartext by prior knowledge; off by default
    HTTP2: bool = False
    HTTP2_MAX_CONCURRENT_STREAMS: PositiveInt = 100  # advertised; one more is refused (REFUSED_STREAM)
    HTTP2_INITIAL_WINDOW_SIZE: int = Field(default=65535, ge=1, le=(1 << 31) - 1)  # per stream, unread body
    HTTP2_HEADER_TABLE_SIZE: NonNegativeInt = 4096  # HPACK dynamic table the client may make the server hold
    HTTP2_MAX_HEADER_BLOCK_SIZE: PositiveInt = 65536  # header block, coded or decoded; more: GOAWAY
    HTTP2_MAX_CONTINUATION_FRAMES: NonNegativeInt = 16  # CONTINUATIONs of one header block; more: GOAWAY
    HTTP2_MAX_RESETS: PositiveInt = 200  # streams reset per HTTP2_FLOOD_WINDOW (Rapid Reset); more: GOAWAY
    HTTP2_MAX_CONTROL_FRAMES: PositiveInt = 1000  # SETTINGS, PING, WINDOW_UPDATE... per HTTP2_FLOOD_WINDOW
    HTTP2_FLOOD_WINDOW: float = Field(default=10.0, gt=0)  # seconds over which the two above are counted
    # OpenAPI (pynecktie.openapi): the document's header, and where the app serves it
    OPENAPI_SERVE: bool | None = None  # /openapi.json and /docs; None: on in debug mode only
    OPENAPI_URL_PREFIX: str = Field(default="", pattern=r"^(/[^<>{}\s]*[^/<>{}\s])?$")
    OPENAPI_VERSION: str = Field(default="3.1.0", pattern=r"^(3\.1\.0|3\.2\.0)$")
    OPENAPI_TITLE: str | None = None  # None: the app's name
    OPENAPI_API_VERSION: str = "0.1.0"
    OPENAPI_DESCRIPTION: str | None = None
    OPENAPI_SERVERS: str | None = None  # space-separated base URLs

    @field_validator("COMPRESSION_TYPES", "COMPRESSION_CODINGS", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        """A list setting may be given as one comma-separated string (as an environment variable is)."""
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("CORS_ORIGINS", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        """``"*"``, one regex, a compiled pattern or a comma-separated string become a list; each checked."""
        return cors_origins(value)

    @field_validator("CORS_METHODS", "CORS_HEADERS", "CORS_EXPOSE_HEADERS", mode="before")
    @classmethod
    def _cors_names(cls, value: Any, info: ValidationInfo) -> Any:
        """A comma-separated string is a list; each entry a token (or ``*``), methods in upper case."""
        return cors_names(info.field_name or "", value)

    @field_validator("CORS_ORIGINS", "CORS_EXPOSE_HEADERS", "CORS_CREDENTIALS", mode="after")
    @classmethod
    def _cors_consistent(cls, value: Any, info: ValidationInfo) -> Any:
        """Credentials never go with ``*`` origins (nor ``*`` exposed headers): refused when set, and the
        setting keeps its value (checked against the others as they are; at creation, in field order)."""
        current: dict[str, Any] = {**info.data, str(info.field_name): value}
        check_cors(
            current.get("CORS_ORIGINS", []),
            current.get("CORS_CREDENTIALS", False),
            current.get("CORS_EXPOSE_HEADERS", []),
        )
        return value

    def __init__(self, **data: Any) -> None:
        env = {
            key[len(ENV_PREFIX) :]: value
            for key, value in os.environ.items()
            if key.startswith(ENV_PREFIX) and key[len(ENV_PREFIX) :].isupper()
        }
        super().__init__(**{**env, **data})

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value)

    def get(self, key: str, default: Any = None) -> Any:
        """The value of *key*, or *default* when it is not set."""
        return getattr(self, key, default)

    def update_config(self, source: Mapping[str, Any] | str | Path | object) -> None:
        """Set every upper-case key of a mapping, a Python file (path) or an object."""
        if isinstance(source, (str, Path)):
            items: Mapping[str, Any] = runpy.run_path(str(source))
        elif isinstance(source, Mapping):
            items = source
        else:
            items = {k: getattr(source, k) for k in dir(source)}
        for key, value in items.items():
            if key.isupper():
                setattr(self, key, value)

    update = update_config


def describe_error(exc: ValidationError) -> str:
    """A validation error as one line: ``NAME: what is wrong (got value)`` for its first problem."""
    first = exc.errors()[0]
    name = ".".join(str(part) for part in first.get("loc", ())) or "config"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{name}: {first.get('msg', 'invalid value')} (got {first.get('input')!r}){more}"
