"""Floods a handler that does not read must not turn into server memory (necktie-server, raw sockets)."""

from __future__ import annotations

import asyncio
import socket
import time
import tracemalloc

import pytest
from necktie_testing import LiveServer
from pynecktie import Necktie
from ws_wire import (
    CLOSE,
    PING,
    TEXT,
    FrameReader,
    close_code,
    close_payload,
    deflated,
    frame,
    raw_handshake,
    read_frames,
)

MiB = 1 << 20


def idle_app() -> tuple[Necktie, list]:
    """A handler that never reads; the connections it got, for the test to look at."""
    app = Necktie("ws_floods")
    app.config.WEBSOCKET_PING_INTERVAL = 0
    opened: list = []

    @app.websocket("/idle")
    async def idle(request, ws):
        opened.append(ws)
        await asyncio.Event().wait()

    return app, opened


def flood(port: int, data: bytes, total: int) -> tuple[socket.socket, int]:
    """Send *data* over and over (up to *total* bytes) without reading; the socket (still open) and how
    much went out before the server stopped taking it (a send blocked for a few seconds)."""
    sock, response = raw_handshake(port, path=b"/idle", rcvbuf=4096)
    assert response.startswith(b"HTTP/1.1 101 "), response
    sock.settimeout(3)
    sent = 0
    try:
        while sent < total:
            sent += sock.send(data)
    except TimeoutError:
        pass
    return sock, sent


def write_buffered(server: LiveServer, ws) -> int:
    async def size() -> int:
        return ws.transport.get_write_buffer_size()

    return asyncio.run_coroutine_threadsafe(size(), server.loop).result(10)


def test_a_ping_flood_from_a_client_that_reads_nothing_is_not_buffered_for():
    # Every ping is answered with a pong; a client that never reads them must be stopped (the server stops
    # reading once its write buffer is full), not have 16 MiB of pongs queued for it.
    app, opened = idle_app()
    pings = frame(PING, b"p" * 125) * 512
    with LiveServer(app) as server:
        sock, sent = flood(server.port, pings, 16 * MiB)
        with sock:
            assert len(opened) == 1
            buffered = write_buffered(server, opened[0])
    assert buffered < MiB, f"{buffered / MiB:.1f} MiB of pongs queued after {sent / MiB:.1f} MiB of pings"


@pytest.mark.slow
def test_a_flood_of_tiny_messages_to_a_handler_that_reads_nothing_holds_little():
    # The server stops reading once 64 messages wait; the rest of the read they came in (8,000 messages of
    # 8 bytes in 64 KiB, ~0.9 MiB as objects when it was all parsed) waits as bytes, not as messages.
    app, opened = idle_app()
    messages = frame(TEXT, b"hi") * 8192
    with LiveServer(app) as server:
        tracemalloc.start()
        try:
            sock, sent = flood(server.port, messages, 16 * MiB)
            with sock:
                held, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert held < MiB // 2, f"{held / MiB:.1f} MiB held for {sent / MiB:.1f} MiB of unread 2-byte messages"


def test_what_is_held_back_reaches_the_handler_in_order_before_the_close():
    # 20,000 messages, a close and the end of the stream, all sent before the handler reads anything: it
    # must still get every message, in order, then the client's close.
    app = Necktie("ws_held")
    app.config.WEBSOCKET_PING_INTERVAL = 0
    go = asyncio.Event()
    seen: list = []

    @app.websocket("/late")
    async def late(request, ws):
        await go.wait()
        count, in_order = 0, True
        async for message in ws:
            in_order = in_order and message == f"m{count}"
            count += 1
        seen.append((count, in_order, ws.close_code))

    total = 20_000
    data = b"".join(frame(TEXT, f"m{i}".encode()) for i in range(total)) + frame(CLOSE, close_payload(1000))
    with LiveServer(app) as server:
        sock, response = raw_handshake(server.port, path=b"/late")
        with sock:
            assert response.startswith(b"HTTP/1.1 101 "), response
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            server.loop.call_soon_threadsafe(go.set)
            frames = read_frames(sock)
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:
            time.sleep(0.02)
    assert seen == [(total, True, 1000)]
    assert close_code(frames) == 1000


def test_a_compressed_connection_costs_the_server_little_memory():
    # permessage-deflate keeps a compressor and a decompressor per connection: with zlib's defaults (32 KiB
    # window, memLevel 8) that was ~300 KiB each, so opening connections was a cheap way to eat memory.
    app = Necktie("ws_deflate_cost")
    app.config.WEBSOCKET_PING_INTERVAL = 0

    @app.websocket("/echo")
    async def echo(request, ws):
        async for message in ws:
            await ws.send(message)

    offer = b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    hello = frame(TEXT, deflated(b"hello " * 100), rsv=0x40)
    count = 20
    with LiveServer(app) as server:
        sock, _ = raw_handshake(server.port, extra=offer)  # warm up
        sock.close()
        tracemalloc.start()
        try:
            socks = []
            for _ in range(count):
                sock, response = raw_handshake(server.port, extra=offer)
                socks.append(sock)
                assert b"permessage-deflate" in response
                sock.sendall(hello)
                assert FrameReader(sock).next()[0] == TEXT
            used, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            for sock in socks:
                sock.close()
    assert used / count < 128 * 1024, f"{used / count / 1024:.0f} KiB per compressed connection"
