"""What the server wrote, judged as a strict client would: the fuzz targets' output rules.

For HTTP/1.1, WebSockets and HTTP/2 (`h2_violations`). Used on the in-memory transport's record by the
targets and on what a real socket received by the loopback replay of saved inputs (``test_fuzz.py``).
Each function returns the rules broken (empty: fine).
"""

from __future__ import annotations

import re
from typing import Any

import h11
import httptools
from nt_h2frames import (
    DATA,
    END_STREAM,
    GOAWAY,
    HEADER_TABLE_SIZE,
    HEADERS,
    INITIAL_WINDOW_SIZE,
    PREFACE,
    PUSH_PROMISE,
    RST_STREAM,
    SETTINGS,
    WINDOW_UPDATE,
    FrameReader,
)
from nt_rawhttp import parse_one
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

_UPGRADE = re.compile(rb"(\n)upgrade:", re.IGNORECASE)
WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # any fixed key: the handshake's answer is then the same on every run
WS_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011})  # may be sent (RFC 6455 §7.4)


class _Counter:
    """httptools callbacks that count what a fresh parser sees in the bytes the client sent."""

    def __init__(self) -> None:
        self.begun = 0
        self.methods: list[str] = []
        self.parser: Any = None

    def on_message_begin(self) -> None:
        self.begun += 1
        self.methods.append("GET")  # until its head is complete: an error answer has a body anyway

    def on_headers_complete(self) -> None:
        self.methods[-1] = self.parser.get_method().decode("latin-1")


def requests_sent(data: bytes) -> tuple[int, list[str]]:
    """How many requests a parser begins in *data*, and their methods (until it stops).

    An upgrade the server does not do is ignored, its body and what follows read as HTTP: so ``Upgrade``
    is read here as any other header (a websocket taken over only answers fewer requests).
    """
    counter = _Counter()
    parser = counter.parser = httptools.HttpRequestParser(counter)
    try:
        parser.feed_data(_UPGRADE.sub(b"\\1X-Upgrade:", data))
    except (httptools.HttpParserError, httptools.HttpParserUpgrade):
        pass
    return counter.begun, counter.methods


def http_violations(sent: bytes, output: bytes, ended: bool, max_line_size: int) -> list[str]:
    """The HTTP/1.1 rules for answers to *sent*: valid responses (h11), at most one final response per
    request begun (one more, an error, if the client only sent empty lines past *max_line_size*), at most
    one ``100 Continue`` before each and no other interim status, nothing after ``Connection: close``, a
    body on a HEAD answer only for an error that closes, and a truncated response only at the end."""
    found: list[str] = []
    begun, methods = requests_sent(sent)
    idle_error = re.search(rb"[\r\n]{%d}" % (max_line_size + 1), sent) is not None
    allowed = begun + (1 if idle_error else 0)
    data = output
    count = 0
    while data:
        method = methods[count] if count < len(methods) else "GET"
        try:
            parsed = parse_one(data, method, eof=ended)
        except h11.RemoteProtocolError as exc:
            if ended and _truncated(exc):
                break  # a response cut short by the server closing: allowed as the last thing it wrote
            found.append(f"response {count + 1} is not valid HTTP/1.1 ({exc}): {data[:120]!r}")
            return found
        if parsed is None:
            if ended:
                found.append(f"incomplete bytes before the end of the connection: {data[:120]!r}")
            break
        answer, rest = parsed
        count += 1
        if method == "HEAD" and rest and not rest.startswith(b"HTTP/"):
            body = _after_body(data, ended)
            if body is not None:
                rest = body
                if not (answer.status >= 400 and answer.closes):
                    found.append(f"response {count} (status {answer.status}) to HEAD has a body")
                # else: an error answer to a head that was cut short may not know it was HEAD
        data = rest
        if [s for s in answer.informational if s != 100] or len(answer.informational) > 1:
            found.append(f"response {count} came after interim statuses {answer.informational}")
        if answer.closes and data:
            found.append(f"{len(data)} bytes after response {count}, which said Connection: close: "
                         f"{data[:80]!r}")
            return found
        if not answer.complete:
            break
    if count > allowed:
        found.append(f"{count} responses for {begun} request(s) begun")
    return found


def _after_body(data: bytes, ended: bool) -> bytes | None:
    """What follows the first response in *data* read as a response with a body, or None if it is not one."""
    try:
        parsed = parse_one(data, "GET", eof=ended)
    except h11.RemoteProtocolError:
        return None
    return parsed[1] if parsed is not None else None


def _truncated(exc: h11.RemoteProtocolError) -> bool:
    """A response cut short by the end of the connection (its body, or after a ``100 Continue``)."""
    text = str(exc)
    return ("without sending complete message body" in text or "incomplete chunked" in text
            or "ConnectionClosed when role=SERVER and state=SEND_RESPONSE" in text)


def ws_client(path: str, deflate: bool) -> ClientProtocol:
    """The strict client that checks the server's side of a websocket on *path*."""
    extensions = [ClientPerMessageDeflateFactory()] if deflate else None
    client = ClientProtocol(parse_uri("ws://a" + path), extensions=extensions, max_size=None)
    client.key = WS_KEY  # type: ignore[misc]
    return client


def ws_handshake(client: ClientProtocol) -> bytes:
    """The upgrade request *client* sends."""
    client.send_request(client.connect())
    return b"".join(client.data_to_send())


def ws_violations(client: ClientProtocol, output: bytes, ended: bool, abrupt_ok: bool) -> list[str]:
    """The WebSocket rules for what the server wrote: a 101 the client accepts, then frames it accepts
    (unmasked, well formed; no close frame only when *abrupt_ok*: the client left first, or the server reset
    a client that stopped reading), a close code that may be sent, and nothing after the server's close
    frame."""
    if not output.startswith(b"HTTP/1.1 101 "):
        return [f"the handshake was not accepted: {output[:200]!r}"]
    found: list[str] = []
    client.receive_data(output)
    if ended:
        client.receive_eof()
    events = client.events_received()
    if not events or not isinstance(events[0], Response) or client.handshake_exc is not None:
        return [f"the 101 response was refused by the client: {client.handshake_exc!r}"]
    if isinstance(client.parser_exc, EOFError) and abrupt_ok:
        pass
    elif client.parser_exc is not None:
        found.append(f"the server's frames are invalid: {client.parser_exc!r} in {output[-200:]!r}")
    closes = [e for e in events if isinstance(e, Frame) and e.opcode is Opcode.CLOSE]
    for frame in closes:
        try:
            code = Close.parse(frame.data).code if frame.data else 1005
        except Exception as exc:  # whatever the parser refuses
            found.append(f"the server's close frame is invalid ({exc!r}): {frame.data!r}")
            continue
        if code not in WS_CODES and not 3000 <= code < 5000 and frame.data:
            found.append(f"the server closed with code {code}")
    if len(closes) > 1:
        found.append(f"{len(closes)} close frames from the server")
    if closes and events[-1] is not closes[0]:
        found.append(f"frames after the server's close frame: {events[events.index(closes[0]) + 1:]}")
    return found


_H2_CONNECTION_HEADERS = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                                    "upgrade"})


def _client_h2(sent: bytes) -> tuple[set[int], set[int], dict[int, int], int, int]:
    """What the client's bytes (preface first) allow the server: the streams it opened, the streams it sent
    any frame on, each stream's window and the connection's at their largest (the initial sizes it
    announced, plus its updates), and the largest header table it allowed."""
    reader = FrameReader(decode=False)
    frames = reader.feed(sent[len(PREFACE):]) if sent.startswith(PREFACE) else []
    named = {got.stream_id for got in frames}
    opened: set[int] = set()
    initial, table = 65535, 4096
    updates: dict[int, int] = {}
    for got in frames:
        if got.kind == HEADERS and got.stream_id % 2:
            opened.add(got.stream_id)
        elif got.kind == SETTINGS and not got.flags & 1 and len(got.payload) % 6 == 0:
            initial = max(initial, got.settings.get(INITIAL_WINDOW_SIZE, 0))
            table = max(table, got.settings.get(HEADER_TABLE_SIZE, 0))
        elif got.kind == WINDOW_UPDATE and len(got.payload) == 4:
            increment = int.from_bytes(got.payload, "big") & 0x7FFFFFFF
            updates[got.stream_id] = updates.get(got.stream_id, 0) + increment
    windows = {sid: initial + updates.get(sid, 0) for sid in opened}
    return opened, named, windows, 65535 + updates.get(0, 0), table


def h2_violations(sent: bytes, output: bytes, ended: bool) -> list[str]:
    """The HTTP/2 rules for what the server wrote to a client that sent *sent*: its preface (SETTINGS)
    first, then whole frames whose header blocks decode in order; no push; frames only on the connection
    and on streams the client opened (a RST_STREAM on any stream it sent a frame on); a stream's first
    frame a response head with a valid ``:status`` and no connection-specific or upper-case names; nothing
    on a stream after its END_STREAM or RST_STREAM (but a RST_STREAM that tells the client to stop
    sending); no more DATA than the client's windows allowed; nothing after a GOAWAY with an error code."""
    opened, named, windows, connection_window, table = _client_h2(sent)
    reader = FrameReader()
    reader.decoder.max_allowed_table_size = table
    try:
        frames = reader.feed(output)
    except Exception as exc:  # what hpack refuses
        return [f"a header block the client cannot decode ({exc!r}): {output[:200]!r}"]
    if not frames or frames[0].kind != SETTINGS or frames[0].flags & 1:
        return [f"the server's first frame is not its SETTINGS: {output[:60]!r}"]
    found: list[str] = []
    if reader.buffer:
        found.append(f"an incomplete frame at the end: {bytes(reader.buffer[:40])!r}")
    ended_streams: set[int] = set()
    answered: set[int] = set()
    data_sent: dict[int, int] = {}
    for i, got in enumerate(frames):
        sid = got.stream_id
        if got.kind == GOAWAY and got.error_code and i + 1 < len(frames):
            found.append(f"{len(frames) - i - 1} frame(s) after GOAWAY {got.error_code}: {frames[i + 1]}")
            break
        if got.kind == PUSH_PROMISE:
            found.append("a PUSH_PROMISE")
        if sid == 0:
            continue
        if sid not in opened and not (got.kind == RST_STREAM and sid in named):
            found.append(f"a frame of type {got.kind} on stream {sid}, which the client never opened")
            continue
        if sid in ended_streams and got.kind != RST_STREAM:
            found.append(f"a frame of type {got.kind} on stream {sid} after it ended")
        if got.kind == HEADERS:
            found += _h2_head(got, sid, first=sid not in answered)
            answered.add(sid)
        elif got.kind == DATA:
            if sid not in answered:
                found.append(f"DATA on stream {sid} before its response head")
            data_sent[sid] = data_sent.get(sid, 0) + len(got.payload)
        if got.kind == RST_STREAM or got.flags & END_STREAM and got.kind in (HEADERS, DATA):
            ended_streams.add(sid)
    for sid, size in data_sent.items():
        if size > windows.get(sid, 0):
            found.append(f"{size} bytes of DATA on stream {sid}, beyond the {windows.get(sid)} it allowed")
    if sum(data_sent.values()) > connection_window:
        found.append(f"{sum(data_sent.values())} bytes of DATA, beyond the connection's {connection_window}")
    return found


def _h2_head(got: Any, sid: int, first: bool) -> list[str]:
    names = [k for k, _ in got.headers]
    found = [f"upper-case or connection-specific header {k!r} on stream {sid}"
             for k in names if k != k.lower() or k in _H2_CONNECTION_HEADERS]
    status = [v for k, v in got.headers if k == ":status"]
    if first:
        if len(status) != 1 or not re.fullmatch(r"[1-5][0-9][0-9]", status[0]):
            found.append(f"the response head of stream {sid} has no valid :status: {got.headers[:4]}")
        elif status[0] == "101":
            found.append(f"101 on stream {sid}")
    return found
