"""WebSocket message limits on necktie-server, over raw loopback sockets: size, fragment count, memory."""

from __future__ import annotations

import tracemalloc

import pytest
from necktie_testing import LiveServer
from pynecktie import Necktie
from ws_wire import BINARY, CLOSE, CONT, TEXT, FrameReader, close_code, close_payload, frame, raw_handshake

MiB = 1 << 20


def sizes_app(**config: object) -> Necktie:
    """Answers each message with its type and length, so a test sees what was assembled."""
    app = Necktie("ws_sizes")
    for key, value in config.items():
        app.config[key] = value

    @app.websocket("/sizes")
    async def sizes(request, ws):
        async for message in ws:
            await ws.send(f"{type(message).__name__} {len(message)}")

    return app


def fragmented(opcode: int, pieces: list[bytes]) -> bytes:
    """One message as len(pieces) frames: a first data frame, then continuations, the last one final."""
    last = len(pieces) - 1
    return b"".join(frame(opcode if i == 0 else CONT, piece, fin=i == last) for i, piece in enumerate(pieces))


def exchange(port: int, data: bytes, timeout: float = 10.0, extra: bytes = b"") -> list[tuple[int, bytes]]:
    """Send *data* after the handshake (*extra* header lines in it); once the server answered, a close;
    every frame it sent."""
    sock, response = raw_handshake(port, path=b"/sizes", extra=extra)
    assert response.startswith(b"HTTP/1.1 101 "), response
    sock.settimeout(timeout)
    try:
        try:
            sock.sendall(data)
        except OSError:
            pass  # the server refused the message and closed while it was still coming: its frames count
        reader = FrameReader(sock, response[response.index(b"\r\n\r\n") + 4 :])
        first = reader.next()
        if first is not None and first[0] != CLOSE:
            sock.sendall(frame(CLOSE, close_payload(1000)))
        return [first] + list(iter(reader.next, None)) if first is not None else []
    finally:
        sock.close()


def test_the_fragment_count_is_bounded():
    with LiveServer(sizes_app(WEBSOCKET_MAX_FRAGMENTS=100)) as server:
        frames = exchange(server.port, fragmented(BINARY, [b"ab"] * 100))
        assert frames[0] == (TEXT, b"bytes 200")
        assert close_code(frames) == 1000
        frames = exchange(server.port, fragmented(BINARY, [b"ab"] * 101))
        assert (TEXT, b"bytes 202") not in frames
        assert close_code(frames) == 1009
        # Empty fragments add nothing to the size but still count: they cannot spin forever.
        frames = exchange(server.port, fragmented(TEXT, [b""] * 101))
        assert close_code(frames) == 1009


def test_the_size_is_bounded_over_the_fragments_together():
    with LiveServer(sizes_app(WEBSOCKET_MAX_SIZE=1000)) as server:
        frames = exchange(server.port, fragmented(TEXT, [b"x" * 100] * 10))
        assert frames[0] == (TEXT, b"str 1000")
        frames = exchange(server.port, fragmented(TEXT, [b"x" * 100] * 11))
        assert (TEXT, b"str 1100") not in frames
        assert close_code(frames) == 1009


def test_the_default_fragment_limit_stops_a_flood_of_tiny_fragments():
    # 500,000 two-byte fragments: 1 MB of payload (under WEBSOCKET_MAX_SIZE) in 4 MB of frames.
    flood = fragmented(TEXT, [b"ab"] * 500_000)
    with LiveServer(sizes_app()) as server:
        assert close_code(exchange(server.port, flood)) == 1009


@pytest.mark.slow
def test_memory_for_a_message_in_many_fragments_stays_near_its_size():
    # Without a fragment limit the message is assembled: the server may hold it (and a copy while it
    # becomes a str), not an object per fragment (each one kept as its own bytes cost ~20 MB here).
    pieces, piece = 100_000, b"0123456789"
    payload = pieces * len(piece)
    flood = fragmented(TEXT, [piece] * pieces)
    with LiveServer(sizes_app(WEBSOCKET_MAX_FRAGMENTS=0)) as server:
        exchange(server.port, frame(TEXT, b"warm up"))
        tracemalloc.start()
        try:
            frames = exchange(server.port, flood, timeout=100)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert frames[0] == (TEXT, f"str {payload}".encode())
    assert peak < 6 * payload, f"peak {peak / MiB:.1f} MiB for a {payload / MiB:.1f} MiB message"
