"""What the server wrote, judged as a strict client would: the fuzz targets' output rules.

Used on the in-memory transport's record by the targets and on what a real socket received by the
loopback replay of saved inputs (``test_fuzz.py``). Each function returns the rules broken (empty: fine).
"""

from __future__ import annotations

import re
from typing import Any

import h11
import httptools
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
