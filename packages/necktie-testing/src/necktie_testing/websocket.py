"""A websocket client for tests: ``client.websocket("/path")``, over the same connections as HTTP requests.

The framing, masking, the handshake and the closing handshake are the `websockets` package's sans-I/O
`ClientProtocol`; this module moves its bytes over a `ByteStream` (a socket to a `LiveServer`, or the
in-memory pipe into the server's protocol) and puts fragmented messages back together.
`AsyncWebSocketSession` is the client; `WebSocketSession` runs it for a sync test from the client's loop.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pynecktie.websocket import ABNORMAL_CLOSURE, NORMAL_CLOSURE, WebSocketClosed
from websockets.client import ClientProtocol
from websockets.datastructures import Headers
from websockets.extensions.permessage_deflate import enable_client_permessage_deflate
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from .streams import ByteStream
from .transport import Caller

Connector = Callable[[], Awaitable[ByteStream]]
Message = str | bytes


class WebSocketRejected(Exception):
    """The server answered the handshake with an HTTP response, not ``101``: its status, headers, body."""

    def __init__(self, status_code: int, headers: Headers, body: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.body = body
        super().__init__(f"the server refused the websocket with {status_code}: {body[:200]!r}")


class AsyncWebSocketSession:
    """One websocket connection from a test (``async with client.websocket("/feed") as ws``).

    ``receive*`` raise `pynecktie.websocket.WebSocketClosed` (``code``, ``reason``) once the server closed;
    `close_code` and `close_reason` keep what the server's close frame said (1006: it sent none).
    """

    def __init__(
        self,
        connect: Connector,
        url: str,
        *,
        subprotocols: Sequence[str] = (),
        headers: Sequence[tuple[str, str]] = (),
        compress: bool = False,
        max_size: int | None = None,
        timeout: float | None = 30.0,
        before: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._connect = connect
        self._before = before
        self.timeout = timeout
        self.protocol = ClientProtocol(
            parse_uri(url),
            subprotocols=[Subprotocol(s) for s in subprotocols] or None,
            extensions=enable_client_permessage_deflate(None) if compress else None,
            max_size=max_size,
        )
        self._extra_headers = list(headers)
        self._stream: ByteStream | None = None
        self._events: deque[Frame] = deque()
        self._eof = False
        self.response: Response | None = None
        self.close_code: int | None = None
        self.close_reason: str | None = None

    # -- opening ----------------------------------------------------------------------------------------
    async def __aenter__(self) -> AsyncWebSocketSession:
        if self._before is not None:
            await self._before()
        self._stream = await self._wait(self._connect())
        try:
            await self._handshake()
        except BaseException:
            self._stream.abort()
            raise
        return self

    async def _handshake(self) -> None:
        protocol = self.protocol
        request = protocol.connect()
        for name, value in self._extra_headers:
            request.headers[name] = value
        protocol.send_request(request)
        await self._flush()
        while self.response is None:
            if not await self._read():
                raise ConnectionResetError("the server closed the connection during the handshake")
            events = protocol.events_received()
            if events:
                response = events[0]
                assert isinstance(response, Response)  # a client's first event is the response
                self.response = response
                self._events.extend(e for e in events[1:] if isinstance(e, Frame))
        await self._flush()  # frames that came with the response may want an answer (a pong, a close)
        if self.response.status_code != 101 or protocol.handshake_exc is not None:
            body = self.response.body or b""
            raise WebSocketRejected(self.response.status_code, self.response.headers, bytes(body))

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self.close_code is None and exc[0] is None:
                await self.close()
        finally:
            if self._stream is not None:
                self._stream.abort()

    # -- what the handshake agreed on --------------------------------------------------------------------
    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose, or ``None``."""
        return self.protocol.subprotocol

    @property
    def response_headers(self) -> Headers:
        """The headers of the server's ``101`` response."""
        assert self.response is not None, "not connected yet: enter the session first"
        return self.response.headers

    # -- sending ------------------------------------------------------------------------------------------
    async def send_text(self, data: str) -> None:
        """Send a text message (`WebSocketClosed` once the connection is closing or closed)."""
        self._check_open()
        self.protocol.send_text(data.encode("utf-8"))
        await self._flush()

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message (`WebSocketClosed` once the connection is closing or closed)."""
        self._check_open()
        self.protocol.send_binary(data)
        await self._flush()

    async def send_json(self, data: Any) -> None:
        """Send *data* as JSON in a text message."""
        await self.send_text(json.dumps(data))

    async def send(self, data: Message) -> None:
        """Send a `str` as a text message, `bytes` as a binary one."""
        await (self.send_text(data) if isinstance(data, str) else self.send_bytes(data))

    # -- receiving ----------------------------------------------------------------------------------------
    async def receive(self, timeout: float | None = None) -> Message:
        """The next message: `str` for text, `bytes` for binary (``TimeoutError`` after *timeout* seconds,
        the session's by default)."""
        opcode: Opcode | None = None
        parts: list[bytes | bytearray | memoryview] = []
        while True:
            frame = await self._next_frame(timeout)
            if frame.opcode is Opcode.CLOSE:
                close = Close.parse(frame.data) if frame.data else None
                self._closed(close.code if close else 1005, close.reason if close else "")
                await self._drain()
                raise WebSocketClosed(self.close_code or ABNORMAL_CLOSURE, self.close_reason or "")
            if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                opcode, parts = frame.opcode, [frame.data]
            elif frame.opcode is Opcode.CONT:
                parts.append(frame.data)
            else:
                continue  # ping (the protocol has queued its pong) or pong
            if frame.fin and opcode is not None:
                data = b"".join(parts)
                return data.decode("utf-8") if opcode is Opcode.TEXT else data

    async def receive_text(self, timeout: float | None = None) -> str:
        """The next message, which must be a text message."""
        message = await self.receive(timeout)
        if not isinstance(message, str):
            raise TypeError(f"expected a text message, got binary {message[:100]!r}")
        return message

    async def receive_bytes(self, timeout: float | None = None) -> bytes:
        """The next message, which must be a binary message."""
        message = await self.receive(timeout)
        if not isinstance(message, bytes):
            raise TypeError(f"expected a binary message, got text {message[:100]!r}")
        return message

    async def receive_json(self, timeout: float | None = None) -> Any:
        """The next message (text or binary), parsed as JSON."""
        return json.loads(await self.receive(timeout))

    # -- closing ------------------------------------------------------------------------------------------
    async def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the closing handshake with *code* and wait for the server's close frame and its end of the
        connection (messages still arriving are dropped); `close_code` is then the server's answer."""
        if self.close_code is not None:
            return
        if self.protocol.state is State.OPEN:  # (else the server's close frame came already, answered)
            self.protocol.send_close(code, reason)
            await self._flush()
        try:
            while True:
                await self.receive()
        except WebSocketClosed:
            pass

    # -- plumbing -----------------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.protocol.state is not State.OPEN:
            received = self.protocol.close_rcvd  # a close frame parsed, maybe not received() yet
            if received is not None:
                self._closed(received.code, received.reason)
            raise WebSocketClosed(self.close_code or ABNORMAL_CLOSURE, self.close_reason or "")

    def _closed(self, code: int, reason: str) -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason

    async def _next_frame(self, timeout: float | None) -> Frame:
        while not self._events:
            if self._eof or not await self._read(timeout):
                self._closed(ABNORMAL_CLOSURE, "")
                raise WebSocketClosed(self.close_code or ABNORMAL_CLOSURE, self.close_reason or "")
            self._events.extend(e for e in self.protocol.events_received() if isinstance(e, Frame))
            await self._flush()  # pongs, the answer to a close
        return self._events.popleft()

    async def _read(self, timeout: float | None = None) -> bool:
        """Feed the protocol what arrives next; False once the server has closed the connection."""
        assert self._stream is not None
        try:
            data = await self._wait(self._stream.receive(), timeout)
        except ConnectionError:
            data = b""
        if data:
            self.protocol.receive_data(data)
            return True
        self.protocol.receive_eof()
        self._eof = True
        return False

    async def _drain(self) -> None:
        """After the server's close frame: read until it ends the connection."""
        while not self._eof:
            await self._flush()
            await self._read()
            self.protocol.events_received()

    async def _flush(self) -> None:
        assert self._stream is not None
        for data in self.protocol.data_to_send():
            try:
                if data:
                    await self._wait(self._stream.send(data))
                else:
                    self._stream.send_eof()
            except ConnectionError:
                return  # the server is gone: receiving will say how

    async def _wait(self, step: Awaitable[Any], timeout: float | None = None) -> Any:
        return await asyncio.wait_for(step, self.timeout if timeout is None else timeout)


class WebSocketSession:
    """The sync form of `AsyncWebSocketSession` (``with client.websocket("/feed") as ws``), run on the
    client's loop: the same methods, without ``await``."""

    def __init__(self, call: Caller, session: AsyncWebSocketSession) -> None:
        self._call = call
        self.session = session

    def __enter__(self) -> WebSocketSession:
        self._call(self.session.__aenter__)
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(lambda: self.session.__aexit__(*exc))

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose, or ``None``."""
        return self.session.subprotocol

    @property
    def response_headers(self) -> Headers:
        """The headers of the server's ``101`` response."""
        return self.session.response_headers

    @property
    def close_code(self) -> int | None:
        """The code of the server's close frame (1006: the connection ended without one), or ``None``."""
        return self.session.close_code

    @property
    def close_reason(self) -> str | None:
        """The reason in the server's close frame, or ``None`` while open."""
        return self.session.close_reason

    def send_text(self, data: str) -> None:
        """Send a text message."""
        self._call(lambda: self.session.send_text(data))

    def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        self._call(lambda: self.session.send_bytes(data))

    def send_json(self, data: Any) -> None:
        """Send *data* as JSON in a text message."""
        self._call(lambda: self.session.send_json(data))

    def send(self, data: Message) -> None:
        """Send a `str` as a text message, `bytes` as a binary one."""
        self._call(lambda: self.session.send(data))

    def receive(self, timeout: float | None = None) -> Message:
        """The next message: `str` for text, `bytes` for binary."""
        return self._call(lambda: self.session.receive(timeout))

    def receive_text(self, timeout: float | None = None) -> str:
        """The next message, which must be a text message."""
        return self._call(lambda: self.session.receive_text(timeout))

    def receive_bytes(self, timeout: float | None = None) -> bytes:
        """The next message, which must be a binary message."""
        return self._call(lambda: self.session.receive_bytes(timeout))

    def receive_json(self, timeout: float | None = None) -> Any:
        """The next message, parsed as JSON."""
        return self._call(lambda: self.session.receive_json(timeout))

    def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Close with *code* and wait for the server's answer (then in `close_code`)."""
        self._call(lambda: self.session.close(code, reason))
