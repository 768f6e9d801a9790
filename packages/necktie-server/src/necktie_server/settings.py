"""The settings one server reads on its hot paths, copied once from ``app.config`` at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from pynecktie.config import Config


@dataclass(frozen=True, slots=True)
class Http2Settings:
    """The ``HTTP2_*`` settings (`necktie_server.h2_connection`), present when ``HTTP2`` is on."""

    max_concurrent_streams: int
    initial_window_size: int
    header_table_size: int
    max_header_block_size: int
    max_continuation_frames: int
    max_resets: int
    max_control_frames: int
    flood_window: float

    @classmethod
    def from_config(cls, config: Config) -> Http2Settings | None:
        """The HTTP/2 settings of an app's config, or None when ``HTTP2`` is off."""
        if not config.HTTP2:
            return None
        return cls(
            max_concurrent_streams=config.HTTP2_MAX_CONCURRENT_STREAMS,
            initial_window_size=config.HTTP2_INITIAL_WINDOW_SIZE,
            header_table_size=config.HTTP2_HEADER_TABLE_SIZE,
            # (never below the header limit: a header section the limit allows must not close the connection)
            max_header_block_size=max(config.HTTP2_MAX_HEADER_BLOCK_SIZE, config.REQUEST_MAX_HEADER_SIZE),
            max_continuation_frames=config.HTTP2_MAX_CONTINUATION_FRAMES,
            max_resets=config.HTTP2_MAX_RESETS,
            max_control_frames=config.HTTP2_MAX_CONTROL_FRAMES,
            flood_window=config.HTTP2_FLOOD_WINDOW,
        )


PARSER_IDLE = 0.125  # seconds (see ServerSettings.idle_wait)


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Plain attributes, so a request never goes through pydantic."""

    request_max_size: int
    request_buffer_size: int
    max_line_size: int
    max_header_size: int
    max_headers: int
    max_chunk_extension_size: int
    pipeline_max_requests: int
    max_connections: int
    request_timeout: float
    body_timeout: float
    write_timeout: float
    request_min_rate: float
    request_min_rate_grace: float
    response_min_rate: float
    response_min_rate_grace: float
    keep_alive: bool
    keep_alive_timeout: float
    keep_alive_max_requests: int
    write_buffer_high: int
    debug: bool
    http2: Http2Settings | None = None  # None: HTTP/1.1 only
    # A head size under which no header cap can have been passed (`necktie_server.head`): each header adds
    # at least 4 to the size (": " and CRLF), so up to 4 per allowed header no count is over, and below
    # the size and line caps no size or value is. One test per header instead of three.
    header_quick_cap: int = 0
    # How long a keep-alive connection waits idle before it gives its parser back (~1 KB, most of an idle
    # connection's memory; the next request makes a new one), then waits the rest of the keep-alive
    # timeout. Under load a connection is never idle that long between requests.
    idle_wait: float = PARSER_IDLE

    @classmethod
    def from_config(cls, config: Config) -> ServerSettings:
        """Take the server's settings from an app's config."""
        return cls(
            request_max_size=config.REQUEST_MAX_SIZE,
            request_buffer_size=config.REQUEST_BUFFER_SIZE,
            max_line_size=config.REQUEST_MAX_LINE_SIZE,
            max_header_size=config.REQUEST_MAX_HEADER_SIZE,
            max_headers=config.REQUEST_MAX_HEADERS,
            max_chunk_extension_size=config.REQUEST_MAX_CHUNK_EXTENSION_SIZE,
            pipeline_max_requests=config.PIPELINE_MAX_REQUESTS,
            max_connections=config.MAX_CONNECTIONS,
            request_timeout=config.REQUEST_TIMEOUT,
            body_timeout=config.REQUEST_BODY_TIMEOUT,
            write_timeout=config.WRITE_TIMEOUT,
            request_min_rate=config.REQUEST_MIN_RATE,
            request_min_rate_grace=config.REQUEST_MIN_RATE_GRACE,
            response_min_rate=config.RESPONSE_MIN_RATE,
            response_min_rate_grace=config.RESPONSE_MIN_RATE_GRACE,
            keep_alive=config.KEEP_ALIVE,
            keep_alive_timeout=config.KEEP_ALIVE_TIMEOUT,
            keep_alive_max_requests=config.KEEP_ALIVE_MAX_REQUESTS,
            write_buffer_high=config.WRITE_BUFFER_HIGH,
            debug=config.DEBUG,
            http2=Http2Settings.from_config(config),
            idle_wait=min(PARSER_IDLE, config.KEEP_ALIVE_TIMEOUT),
            header_quick_cap=min(
                config.REQUEST_MAX_HEADER_SIZE, config.REQUEST_MAX_LINE_SIZE, 4 * config.REQUEST_MAX_HEADERS
            ),
        )
