"""Incoming frames cut at every byte into two reads, over a mock transport, and pipelined over a real socket.

necktie-server takes whole plain data frames itself and hands every other frame to the `websockets`
protocol from its first byte (necktie_server.ws_frames); a frame cut anywhere (in its header, its mask,
its payload) or a control frame between data frames must change nothing the handler or the client sees.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from necktie_testing import LiveServer
from pynecktie import Necktie
from ws_wire import (
    BINARY,
    CLOSE,
    CONT,
    PING,
    PONG,
    TEXT,
    FrameReader,
    close_code,
    close_payload,
    frame,
    raw_handshake,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "packages" / "necktie-server" / "tests"))
from nt_mock import Conn

UPGRADE = (b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def echo_app() -> tuple[Necktie, list[object]]:
    """Echoes every message; records how the connection ended."""
    app = Necktie("ws_splits")
    app.config.WEBSOCKET_PING_INTERVAL = 0
    ended: list[object] = []

    @app.websocket("/echo")
    async def echo(request, ws):
        async for message in ws:
            await ws.send(message)
        ended.append(ws.close_code)

    return app, ended


# Every kind of frame the reader meets, small enough to cut at every byte: plain text and binary (7- and
# 16-bit lengths), a ping and a pong between them, a fragmented message, an empty message, UTF-8.
STREAM = [
    (frame(TEXT, b"hello"), (TEXT, b"hello")),
    (frame(BINARY, bytes(range(200))), (BINARY, bytes(range(200)))),
    (frame(PING, b"pi"), (PONG, b"pi")),
    (frame(PONG, b"unasked"), None),
    (frame(TEXT, b"ab", fin=False) + frame(PING, b"x") + frame(CONT, b"cd"), (PONG, b"x")),
    (b"", (TEXT, b"abcd")),
    (frame(BINARY, b""), (BINARY, b"")),
    (frame(TEXT, "é€😀".encode()), (TEXT, "é€😀".encode())),
    (frame(TEXT, b"t" * 125), (TEXT, b"t" * 125)),
]
RAW = b"".join(data for data, _ in STREAM)
EXPECTED = [answer for _, answer in STREAM if answer is not None]


def in_order(frames: list[tuple[int, bytes]]) -> tuple[list[tuple[int, bytes]], list[tuple[int, bytes]]]:
    """(the data frames, the control frames), each in the order sent: a pong goes out as its ping is parsed,
    an echo when the handler gets to it, so only the order within each kind is fixed."""
    return [f for f in frames if f[0] < 8], [f for f in frames if f[0] >= 8]


async def upgraded(app: Necktie) -> Conn:
    conn = Conn(app)
    conn.feed(UPGRADE)
    await conn.settle()
    head, _, rest = bytes(conn.transport.data).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ") and rest == b""
    conn.transport.data.clear()
    return conn


def frames_written(conn: Conn) -> list[tuple[int, bytes]]:
    reader = FrameReader(None, bytes(conn.transport.data))  # type: ignore[arg-type]
    frames = []
    while len(reader.data) >= 2:
        first = reader.data[0]
        assert first & 0x70 == 0 and first & 0x80, "a server frame is final, without reserved bits"
        frames.append(reader.next())
    return frames


async def feed_in(conn: Conn, parts: list[bytes]) -> None:
    for part in parts:
        conn.transport.protocol.data_received(part)
        await conn.settle(5)
    await conn.settle()


@pytest.mark.parametrize("cut", range(1, len(RAW)))
async def test_every_cut_into_two_reads(cut):
    app, _ = echo_app()
    conn = await upgraded(app)
    await feed_in(conn, [RAW[:cut], RAW[cut:]])
    assert in_order(frames_written(conn)) == in_order(EXPECTED)
    assert not conn.closed


async def test_one_byte_at_a_time():
    app, _ = echo_app()
    conn = await upgraded(app)
    await feed_in(conn, [RAW[i : i + 1] for i in range(len(RAW))])
    assert in_order(frames_written(conn)) == in_order(EXPECTED)


@pytest.mark.parametrize("size", [16383, 16384, 70000])
async def test_a_large_frame_in_pieces(size):
    # Over the reader's small-frame buffer, a frame arriving in pieces is gathered by the protocol; the
    # frames after it are back on the fast path.
    app, _ = echo_app()
    conn = await upgraded(app)
    payload = bytes(i % 251 for i in range(size))
    raw = frame(BINARY, payload) + frame(TEXT, b"after")
    await feed_in(conn, [raw[i : i + 5000] for i in range(0, len(raw), 5000)])
    assert frames_written(conn) == [(BINARY, payload), (TEXT, b"after")]


@pytest.mark.parametrize("cut", [1, 2, 6, 9])
async def test_the_end_of_stream_inside_a_frame_is_an_abnormal_closure(cut):
    app, ended = echo_app()
    conn = await upgraded(app)
    await feed_in(conn, [frame(TEXT, b"whole"), frame(TEXT, b"cut short")[:cut]])
    conn.transport.protocol.eof_received()
    await conn.settle()
    assert frames_written(conn)[0] == (TEXT, b"whole")
    assert ended == [1006]


async def test_invalid_utf8_after_good_frames_in_one_read_is_refused():
    # The connection is failed as the bad frame is read (the close goes out before the handler's echo
    # of the message before it); nothing behind the bad frame is delivered.
    app, _ = echo_app()
    conn = await upgraded(app)
    await feed_in(conn, [frame(TEXT, b"ok") + frame(TEXT, b"\xc3\x28") + frame(TEXT, b"never")])
    frames = frames_written(conn)
    assert close_code(frames) == 1007
    assert (TEXT, b"never") not in frames


def test_pipelined_frames_over_a_socket_come_back_in_order():
    app, _ = echo_app()
    messages = [f"message {i}".encode() * (i % 7 + 1) for i in range(500)]
    burst = b"".join(frame(TEXT, m) for m in messages[:250]) + frame(PING, b"mid") + frame(
        BINARY, b"a", fin=False) + frame(CONT, b"b") + b"".join(frame(TEXT, m) for m in messages[250:])
    with LiveServer(app) as server:
        sock, response = raw_handshake(server.port)
        with sock:
            sock.sendall(burst)
            reader = FrameReader(sock, response[response.index(b"\r\n\r\n") + 4 :])
            frames = [reader.next() for _ in range(len(messages) + 2)]
            sock.sendall(frame(CLOSE, close_payload(1000)))
            frames += list(iter(reader.next, None))
    expected = [(TEXT, m) for m in messages[:250]] + [(PONG, b"mid"), (BINARY, b"ab")]
    expected += [(TEXT, m) for m in messages[250:]]
    assert in_order(frames[:-1]) == in_order(expected)
    assert close_code(frames) == 1000


@pytest.mark.parametrize(("size", "head"), [(0, b"\x82\x00"), (125, b"\x82\x7d"), (126, b"\x82\x7e\x00\x7e"),
                                          (65535, b"\x82\x7e\xff\xff"),
                                          (65536, b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00")])
async def test_the_server_frames_each_length_in_its_shortest_form(size, head):
    app, _ = echo_app()
    conn = await upgraded(app)
    payload = bytes(i % 256 for i in range(size))
    await feed_in(conn, [frame(BINARY, payload)])
    assert bytes(conn.transport.data) == head + payload
