"""The request a handler receives; a streamed body is a `RequestStream` (`pynecktie.request_stream`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType, SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from . import _json
from .exceptions import BadRequest, ServerError
from .forms import File, RequestParameters
from .headers import Headers
from .request_ids import id_for
from .request_stream import RequestStream

if TYPE_CHECKING:
    from .app import Necktie
    from .background import Call
    from .routing import Route


@dataclass(frozen=True, slots=True)
class ConnInfo:
    """What the carrier knows of the connection: peer and local addresses and whether TLS is on."""

    client_ip: str = ""
    client_port: int = 0
    server_ip: str = ""
    server_port: int = 0
    ssl: bool = False


_NO_CONN = ConnInfo()


__all__ = ["ConnInfo", "File", "Request", "RequestParameters", "RequestStream"]


_UNSET: Any = object()


class Request:
    """One HTTP request: method, path, headers, query, body (or ``stream``), and where it came from."""

    # Class-level defaults: a request stores only what differs from them, so creating one is cheap;
    # the lazily parsed parts (headers, path, query, cookies, ...) appear when first used.
    route: Route | None = None
    body: bytes = b""
    stream: RequestStream | None = None
    _headers: Headers | None = None
    _path: str | None = None
    _query_string: str | None = None
    _args: RequestParameters | None = None
    _json: Any = _UNSET
    _id: str | None = None
    _cookies: dict[str, str] | None = None
    _form: RequestParameters | None = None
    _files: RequestParameters | None = None
    _authority: str | None = None
    _forwarded: Mapping[str, str] | None = None
    _ctx: SimpleNamespace | None = None
    _background: list[Call] | None = None  # work for after the response (`add_background`)

    def __init__(
        self,
        app: Necktie,
        method: str,
        target: bytes,
        version: str,
        raw_headers: list[tuple[bytes, bytes]],
        conn_info: ConnInfo = _NO_CONN,
    ) -> None:
        self.app = app
        self.method = method
        self.target = target
        self.version = version
        self.raw_headers = raw_headers
        self.conn_info = conn_info
        self.match_info: dict[str, Any] = {}

    def add_background(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Call ``fn(*args, **kwargs)`` once the response has been handed whole to the carrier, never if it
        was not (`pynecktie.background`): a coroutine function on the loop, a plain one in a worker thread."""
        if self._background is None:
            self._background = []
        self._background.append((fn, args, kwargs))

    @property
    def ctx(self) -> SimpleNamespace:
        """A namespace for the application's own per-request data (middleware to handler)."""
        ctx = self._ctx
        if ctx is None:
            ctx = self._ctx = SimpleNamespace()
        return ctx

    @ctx.setter
    def ctx(self, value: SimpleNamespace) -> None:
        self._ctx = value

    def __repr__(self) -> str:
        return f"<Request: {self.method} {self.path}>"

    # -- the target -----------------------------------------------------------------------------------
    def _split_target(self) -> None:
        raw_path, _, query = self.target.partition(b"?")
        if raw_path[:1] != b"/" and b"://" in raw_path:
            # absolute-form (RFC 9112 §3.2.2): the authority comes from the target, not from Host
            _, _, rest = raw_path.partition(b"://")
            authority, slash, path = rest.partition(b"/")
            self._authority = authority.decode("latin-1")
            raw_path = slash + path or b"/"
        text = raw_path.decode("latin-1")
        if "%" in text:
            text = unquote(text, errors="surrogateescape")
        self._path = text
        self._query_string = query.decode("latin-1")

    @property
    def path(self) -> str:
        """The percent-decoded path, without the query string."""
        if self._path is None:
            self._split_target()
        return self._path  # type: ignore[return-value]  # _split_target set it

    @property
    def query_string(self) -> str:
        """The raw query string (after ``?``), undecoded."""
        if self._query_string is None:
            self._split_target()
        return self._query_string  # type: ignore[return-value]  # _split_target set it

    @property
    def args(self) -> RequestParameters:
        """Query fields, multi-valued (``args.get`` gives the first, ``args.getlist`` all); blanks dropped."""
        if self._args is None:
            self._args = self._parse_query(keep_blank_values=False)
        return self._args

    def get_args(self, keep_blank_values: bool = False) -> RequestParameters:
        """Query fields, optionally keeping fields with empty values."""
        return self._parse_query(keep_blank_values=keep_blank_values)

    @property
    def query_args(self) -> list[tuple[str, str]]:
        """Query fields as (name, value) pairs in order, blanks kept."""
        return self._pairs(self.query_string, keep_blank_values=True)

    def _pairs(self, query: str, keep_blank_values: bool) -> list[tuple[str, str]]:
        limit = self.app.config.REQUEST_MAX_QUERY_FIELDS
        try:
            return parse_qsl(query, keep_blank_values=keep_blank_values, max_num_fields=limit)
        except ValueError:
            raise BadRequest(f"Too many query fields (more than {limit})") from None

    def _parse_query(self, keep_blank_values: bool) -> RequestParameters:
        params = RequestParameters()
        for key, value in self._pairs(self.query_string, keep_blank_values):
            params.setdefault(key, []).append(value)
        return params

    # -- headers --------------------------------------------------------------------------------------
    @property
    def headers(self) -> Headers:
        """The request headers, case-insensitive and multi-valued."""
        if self._headers is None:
            self._headers = Headers.from_raw(self.raw_headers)
        return self._headers

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` header ("application/octet-stream" when absent)."""
        return self.headers.get("content-type", "application/octet-stream")

    @property
    def last_event_id(self) -> str | None:
        """The ``Last-Event-ID`` header a reconnecting server-sent-events client sends (None without one)."""
        return self.headers.get("last-event-id")

    @property
    def forwarded(self) -> Mapping[str, str]:
        """What trusted proxies say of the client (``for``, ``proto``, ``host``, ``port``, ``path``).

        Empty unless ``PROXIES_COUNT``, ``REAL_IP_HEADER`` or ``FORWARDED_SECRET`` is configured; see
        `pynecktie.forwarded`.
        """
        if self._forwarded is None:
            config = self.app.config
            if config.PROXIES_COUNT or config.REAL_IP_HEADER or config.FORWARDED_SECRET:
                from .forwarded import forwarded

                self._forwarded = forwarded(self.headers, config)
            else:
                self._forwarded = _NOTHING_FORWARDED  # the usual case: no headers parsed at all
        return self._forwarded

    @property
    def host(self) -> str:
        """The host the client asked for: a trusted proxy's, the request target's authority, or ``Host``."""
        fwd = self.forwarded.get("host")
        if fwd:
            return fwd
        if self._path is None:
            self._split_target()
        return self._authority or self.headers.get("host", "")

    @property
    def server_name(self) -> str:
        """The server's name: the ``SERVER_NAME`` setting, else the host without its port."""
        name = self.app.config.SERVER_NAME
        if name:
            return name.split("://", 1)[-1].split("/", 1)[0]
        host = self.host
        return host[: host.rindex(":")] if ":" in host and not host.endswith("]") else host

    @property
    def server_port(self) -> int:
        """The port the client connected to (a trusted proxy's, the ``Host`` port, or the socket's)."""
        port = self.forwarded.get("port")
        if port:
            return int(port)
        host = self.host
        if ":" in host and not host.endswith("]"):
            tail = host.rsplit(":", 1)[1]
            if tail.isdigit():
                return int(tail)
        return self.conn_info.server_port or (443 if self.scheme in ("https", "wss") else 80)

    @property
    def scheme(self) -> str:
        """``http`` or ``https`` (``ws``/``wss`` for websocket upgrades); a trusted proxy's word wins."""
        proto = self.forwarded.get("proto")
        if proto:
            return proto
        upgrade = self.headers.get("upgrade", "").lower() == "websocket"
        if self.conn_info.ssl:
            return "wss" if upgrade else "https"
        return "ws" if upgrade else "http"

    @property
    def raw_path(self) -> str:
        """The path as sent, still percent-encoded."""
        raw = self.target.partition(b"?")[0].decode("latin-1")
        if raw[:1] != "/" and "://" in raw:
            raw = "/" + raw.partition("://")[2].partition("/")[2]
        return raw

    @property
    def url(self) -> str:
        """The full URL of the request (path still percent-encoded, as sent)."""
        qs = self.query_string
        return f"{self.scheme}://{self.host}{self.raw_path}" + (f"?{qs}" if qs else "")

    @property
    def ip(self) -> str:
        """The client's address: as trusted proxies report it when the app trusts them (``PROXIES_COUNT``,
        ``REAL_IP_HEADER`` or ``FORWARDED_SECRET``), else the peer connected to the server."""
        return self.forwarded.get("for") or self.conn_info.client_ip

    @property
    def peer_ip(self) -> str:
        """The address of the peer connected to the server (the last proxy, if there is one)."""
        return self.conn_info.client_ip

    @property
    def port(self) -> int:
        """The peer's port."""
        return self.conn_info.client_port

    @property
    def remote_addr(self) -> str:
        """The client's address as trusted proxies report it ('' when there are none)."""
        return self.forwarded.get("for", "")

    @property
    def client_ip(self) -> str:
        """The same as `ip` (the name Sanic users know for it)."""
        return self.ip

    @property
    def id(self) -> str:
        """This request's id: the client's ``REQUEST_ID_HEADER`` (``X-Request-ID``) when short and plain,
        else a fresh one (`pynecktie.request_ids`)."""
        if self._id is None:
            self._id = id_for(self)
        return self._id

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies sent by the client (first value of each name)."""
        if self._cookies is None:
            jar: dict[str, str] = {}
            for header in self.headers.getall("cookie"):
                for pair in header.split(";")[:1000]:
                    name, sep, value = pair.partition("=")
                    name = name.strip()
                    if sep and name and name not in jar:
                        value = value.strip()
                        if len(value) >= 2 and value[0] == value[-1] == '"':
                            value = value[1:-1]
                        jar[name] = unquote(value)
            self._cookies = jar
        return self._cookies

    # -- body -----------------------------------------------------------------------------------------
    @property
    def json(self) -> Any:
        """The body parsed as JSON (``None`` for an empty body); malformed JSON raises `BadRequest`."""
        if self._json is _UNSET:
            if not self.body:
                self._json = None
            else:
                try:
                    self._json = _json.loads(self.body)
                except (_json.DecodeError, ValueError, UnicodeDecodeError) as exc:
                    raise BadRequest(f"Failed when parsing body as json: {exc}") from None
        return self._json

    def load_json(self, loads: Any = None) -> Any:
        """Parse the body as JSON with *loads* (default: the app's decoder)."""
        if loads is None:
            return self.json
        try:
            return loads(self.body)
        except Exception as exc:
            raise BadRequest(f"Failed when parsing body as json: {exc}") from None

    @property
    def form(self) -> RequestParameters:
        """Fields of a url-encoded or multipart body (multi-valued); other bodies give an empty mapping.

        A malformed body raises `BadRequest`. On a ``stream=True`` route, ``await request.receive_body()``
        first, or read the parts as they arrive with ``request.stream.multipart()``.
        """
        if self._form is None:
            self._parse_form()
        return self._form  # type: ignore[return-value]  # _parse_form set it

    @property
    def files(self) -> RequestParameters:
        """Uploaded files of a multipart body, by field name: each a `File` (``type``, ``body``, ``name``)."""
        if self._files is None:
            self._parse_form()
        return self._files  # type: ignore[return-value]  # _parse_form set it

    def _parse_form(self) -> None:
        from .forms import parse_body

        stream = self.stream
        if stream is not None and not stream.ended:
            # An unread streamed body would silently parse as an empty form: say what to do instead.
            raise ServerError(
                "request.form on a stream=True route: await request.receive_body() first, "
                "or read the parts with request.stream.multipart()"
            )

        self._form, self._files = parse_body(self.body, self.headers.get("content-type", ""), self.app.config)

    async def receive_body(self) -> None:
        """Read a streamed body to its end into ``request.body`` (on a route declared ``stream=True``)."""
        if self.stream is not None and not self.stream.ended:
            self.body = await self.stream.read()

    @property
    def uri_template(self) -> str | None:
        """The matched route's path pattern (``/users/<user_id:int>``), or None when nothing matched."""
        return self.route.path if self.route is not None else None

    @property
    def endpoint(self) -> str | None:
        """The matched route's name (what `url_for` takes), or None when nothing matched."""
        return self.route.name if self.route is not None else None

    def url_for(self, name: str, **params: Any) -> str:
        """The path of the route called *name* (see `Necktie.url_for`)."""
        return self.app.url_for(name, **params)


_NOTHING_FORWARDED: Mapping[str, str] = MappingProxyType({})  # shared, so read-only
