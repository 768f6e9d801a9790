"""HTTP/2 against attackers, over real loopback sockets: each defence of issue 22 with frames built by hand.

The server runs with small limits (`LIMITS`) so every bound is reached with a few frames; a client that
stays within them is served (each test that expects a refusal has a neighbour, or a second part, that shows
the same traffic below the bound goes through). The app records how many of its handlers run at once
(`Probe`), because what Rapid Reset costs a server is handlers, not frames.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import pytest
from necktie_testing import LiveServer
from nt_h2frames import (
    CANCEL,
    COMPRESSION_ERROR,
    DATA,
    ENHANCE_YOUR_CALM,
    FRAME_SIZE_ERROR,
    GOAWAY,
    HEADER_TABLE_SIZE,
    HEADERS,
    INITIAL_WINDOW_SIZE,
    MAX_CONCURRENT_STREAMS,
    MAX_HEADER_LIST_SIZE,
    PROTOCOL_ERROR,
    REFUSED_STREAM,
    RST_STREAM,
    SETTINGS,
    RawH2,
    continuation,
    data,
    frame,
    headers,
    ping,
    request_headers,
    rst_stream,
    settings,
    window_update,
)
from pynecktie import Necktie
from pynecktie.response import stream, text

pytest.importorskip("h2")

LIMITS: dict[str, Any] = {
    "HTTP2": True,
    "ACCESS_LOG": False,
    "HTTP2_MAX_CONCURRENT_STREAMS": 8,
    "HTTP2_HEADER_TABLE_SIZE": 1024,
    "HTTP2_MAX_HEADER_BLOCK_SIZE": 8192,
    "HTTP2_MAX_CONTINUATION_FRAMES": 4,
    "HTTP2_MAX_RESETS": 20,
    "HTTP2_MAX_CONTROL_FRAMES": 50,
    "REQUEST_MAX_HEADER_SIZE": 4096,
    "REQUEST_TIMEOUT": 2.0,
    "KEEP_ALIVE_TIMEOUT": 2.0,
    "WRITE_TIMEOUT": 1.0,
    "REQUEST_BODY_TIMEOUT": 1.0,
}
WAIT = 30.0  # seconds for anything that must eventually happen (the machine may be busy)


class Probe:
    """Handlers of the held route: how many started, how many run now, the most that ever ran at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = self.running = self.peak = self.finished = 0
        self.release: asyncio.Event | None = None

    def enter(self) -> None:
        with self.lock:
            self.started += 1
            self.running += 1
            self.peak = max(self.peak, self.running)

    def leave(self) -> None:
        with self.lock:
            self.running -= 1
            self.finished += 1

    def reset(self) -> None:
        with self.lock:
            self.started = self.running = self.peak = self.finished = 0


def make_app(probe: Probe) -> Necktie:
    app = Necktie("h2-defences")
    app.config.update_config(LIMITS)

    @app.get("/")
    async def index(request: Any) -> Any:
        return text("ok", headers={"x-path": request.path})

    @app.get("/held")
    async def held(request: Any) -> Any:
        probe.enter()
        try:
            if probe.release is None:
                probe.release = asyncio.Event()
            await probe.release.wait()  # until the test lets go, or the stream's reset cancels it
            return text("released")
        finally:
            probe.leave()

    @app.post("/upload", stream=True)
    async def upload(request: Any) -> Any:
        probe.enter()  # and in the same step, waits for the body
        try:
            return text(str(len(await request.stream.read())))
        finally:
            probe.leave()

    @app.get("/download")
    async def download(request: Any) -> Any:
        size = int(request.args.get("kib", "1024"))

        async def write(response: Any) -> None:
            probe.enter()
            try:
                for _ in range(size // 16):
                    await response.write(b"d" * 16384)
            finally:
                probe.leave()

        return stream(write, content_type="application/octet-stream")

    return app


@pytest.fixture(scope="module")
def probe() -> Probe:
    return Probe()


@pytest.fixture(scope="module")
def live(probe):
    with LiveServer(make_app(probe)) as server:
        yield server


@pytest.fixture
def fresh(live, probe):
    """The probe zeroed; at the end every held handler let go and gone."""
    probe.reset()
    yield probe
    release = probe.release
    if release is not None:
        live.loop.call_soon_threadsafe(release.set)
    assert eventually(lambda: probe.running == 0), "handlers still running after the test"
    probe.release = None


@pytest.fixture
def h2c(live, fresh):
    """A raw connection whose server preface has been read and acknowledged."""
    conn = RawH2(live.port)
    conn.handshake()
    yield conn
    conn.close()


def eventually(condition, timeout: float = WAIT) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def closed_with(conn: RawH2, code: int | tuple[int, ...]) -> None:
    """The server sent GOAWAY *code* (or one of them) and closed the connection."""
    assert conn.read_until_closed(WAIT), "the server did not close the connection"
    away = conn.goaway()
    assert away is not None, f"no GOAWAY; frames: {[(f.kind, f.stream_id) for f in conn.frames[-10:]]}"
    assert away.error_code in (code if isinstance(code, tuple) else (code,)), f"GOAWAY {away.error_code}"


def served(conn: RawH2, stream_id: int) -> None:
    """A request on *stream_id* is answered with a 200 (the connection still works)."""
    conn.request(stream_id, "/")
    status, body, reset = conn.response(stream_id, WAIT)
    assert (status, body, reset) == (200, b"ok", None)


def test_a_protocol_error_is_answered_with_one_goaway_then_the_close(h2c):
    # A fuzz finding (crashes/h2/protocol-error-goaway-sent-twice): h2 queues its own GOAWAY when it raises,
    # and the server sent a second one after it.
    h2c.send(frame(SETTINGS, 1, 5))  # a SETTINGS acknowledgement on a stream: a connection error
    closed_with(h2c, PROTOCOL_ERROR)
    assert len(h2c.of_kind(GOAWAY)) == 1


def test_a_frame_longer_than_the_largest_is_refused_on_its_header(h2c, probe):
    # A fuzz finding (crashes/h2/frame-longer-than-allowed-buffered): h2 checks a frame's length only once
    # the whole declared payload is in, so a header announcing 16 MiB made it buffer whatever came.
    h2c.request(1, "/held", end_stream=False)
    h2c.send(((1 << 24) - 1).to_bytes(3, "big") + bytes((DATA, 0)) + (1).to_bytes(4, "big"))  # no payload
    closed_with(h2c, FRAME_SIZE_ERROR)


@pytest.mark.parametrize("part", [b"part of a body", b""], ids=["data", "empty-data"])
def test_a_body_that_stops_coming_is_ended_by_the_body_timeout(live, fresh, part):
    # An empty DATA frame once stopped the body's deadline for good: the stream then waited forever.
    with RawH2(live.port) as conn:
        conn.handshake()
        conn.request(1, "/upload", method="POST", end_stream=False)
        assert eventually(lambda: fresh.running == 1)  # the handler waits for the body from now on
        conn.send(data(1, part))
        ended = conn.read_until(lambda f: f.stream_id == 1 and (f.kind == RST_STREAM or f.flags & 1), WAIT)
        assert ended is not None, "the stream was not ended"
        assert ended.kind == RST_STREAM or conn.of_kind(HEADERS, 1)[0].status == 408
        assert conn.read_until_closed(WAIT), "the idle connection was not closed afterwards"


# -- what the server advertises ---------------------------------------------------------------------------
def test_settings_advertise_the_limits(live):
    with RawH2(live.port) as conn:
        first = conn.read_until(lambda f: True)
        assert first is not None and first.kind == SETTINGS, "the server's preface is a SETTINGS frame"
        values = first.settings
        assert values[MAX_CONCURRENT_STREAMS] == 8
        assert values[HEADER_TABLE_SIZE] == 1024
        assert values[MAX_HEADER_LIST_SIZE] == 4096


def test_a_request_sent_with_the_preface_is_served(live):
    # Clients send their first request before the server's SETTINGS arrive (curl, browsers): until they
    # acknowledge them, the default header table (4096 bytes) holds, whatever the server advertises.
    with RawH2(live.port) as conn:
        conn.request(1, "/", extra=[("x-indexed", "v" * 2000)])
        status, body, reset = conn.response(1, WAIT)
        assert (status, body, reset) == (200, b"ok", None)


# -- Rapid Reset (CVE-2023-44487) ---------------------------------------------------------------------------
def test_rapid_reset_is_bounded_then_goaway(h2c, probe):
    raw = bytearray()
    for i in range(200):
        sid = 1 + 2 * i
        raw += headers(sid, h2c.encode(request_headers("/held"))) + rst_stream(sid, CANCEL)
    h2c.send(bytes(raw))
    closed_with(h2c, ENHANCE_YOUR_CALM)
    # The streams read before the budget ran out got a handler each, cancelled with their streams: never
    # more than the reset budget, and none left running.
    assert probe.started <= LIMITS["HTTP2_MAX_RESETS"] + 1
    assert eventually(lambda: probe.running == 0)


def test_resets_within_the_budget_are_served(h2c, probe):
    for i in range(10):
        h2c.request(1 + 2 * i, "/held")
        h2c.send(rst_stream(1 + 2 * i, CANCEL))
    served(h2c, 41)
    assert h2c.goaway() is None
    assert eventually(lambda: probe.running == 0)


def test_resets_the_server_is_made_to_send_count_too(h2c, probe):
    # "MadeYouReset" (CVE-2025-8671): DATA on a stream the client already ended is a stream error, so the
    # server resets it itself: the same handler churn as Rapid Reset without a single RST_STREAM sent.
    raw = bytearray()
    for i in range(200):
        sid = 1 + 2 * i
        raw += headers(sid, h2c.encode(request_headers("/held"))) + data(sid, b"x")
    h2c.send(bytes(raw))
    closed_with(h2c, ENHANCE_YOUR_CALM)
    assert eventually(lambda: probe.running == 0)


# -- MAX_CONCURRENT_STREAMS ---------------------------------------------------------------------------------
def test_max_concurrent_streams_refuses_the_stream_beyond(h2c, probe):
    for i in range(8):
        h2c.request(1 + 2 * i, "/held")
    assert eventually(lambda: probe.running == 8)
    h2c.request(17, "/held")
    refused = h2c.read_until(lambda f: f.stream_id == 17 or f.kind == GOAWAY, WAIT)
    assert refused is not None and refused.kind == RST_STREAM, "the ninth stream must be refused on its own"
    assert refused.error_code in (REFUSED_STREAM, PROTOCOL_ERROR)
    assert probe.started == 8 and probe.peak == 8


def test_the_streams_in_flight_survive_a_refused_one(live, h2c, probe):
    for i in range(8):
        h2c.request(1 + 2 * i, "/held")
    assert eventually(lambda: probe.running == 8)
    h2c.request(17, "/held")
    assert h2c.read_until(lambda f: f.stream_id == 17 or f.kind == GOAWAY, WAIT).kind == RST_STREAM
    live.loop.call_soon_threadsafe(probe.release.set)
    for i in range(8):
        status, body, reset = h2c.response(1 + 2 * i, WAIT)
        assert (status, body, reset) == (200, b"released", None)
    served(h2c, 19)


def test_max_concurrent_streams_holds_before_the_client_acknowledges_it(live, fresh):
    # A client that never acknowledges the SETTINGS still gets no more than the advertised count.
    probe = fresh
    with RawH2(live.port) as conn:
        for i in range(12):
            conn.request(1 + 2 * i, "/held")
        refused = [conn.read_until(lambda f: f.kind in (RST_STREAM, GOAWAY), WAIT) for _ in range(4)]
        codes = [(f.kind, f.error_code) for f in refused if f is not None]
        assert codes == [(RST_STREAM, REFUSED_STREAM)] * 4
        assert eventually(lambda: probe.running == 8)
        assert probe.peak == 8


# -- header blocks: CONTINUATION flood, size before decoding, HPACK ----------------------------------------
def test_continuation_flood_is_refused_before_the_block_ends(h2c, probe):
    block = h2c.encode(request_headers("/held"))
    raw = headers(1, block, end_headers=False) + continuation(1, b"") * 1000  # never END_HEADERS
    h2c.send(raw)
    closed_with(h2c, ENHANCE_YOUR_CALM)
    assert probe.started == 0


def test_header_block_over_the_byte_bound_is_refused_before_decoding(h2c, probe):
    # Continuations of 3 KiB of HPACK literal bytes, never ending: the bound (8 KiB) is passed on the third.
    h2c.send(headers(1, h2c.encode(request_headers("/held")), end_headers=False))
    for _ in range(3):
        if not h2c.send(continuation(1, b"\x00" * 3072)):
            break
    closed_with(h2c, ENHANCE_YOUR_CALM)
    assert probe.started == 0


def test_a_header_block_left_unfinished_is_ended_by_the_request_timeout(h2c, probe):
    # Within every bound, but never finished: REQUEST_TIMEOUT (2 s here) ends it as it ends an HTTP/1 head.
    h2c.send(headers(1, h2c.encode(request_headers("/held")), end_headers=False))
    closed_with(h2c, PROTOCOL_ERROR)
    assert probe.started == 0


def test_a_block_in_a_few_continuations_within_the_bounds_is_served(h2c):
    block = h2c.encode(request_headers("/", extra=[("x-pad", "p" * 1500)]))
    parts = [block[i:i + 400] for i in range(0, len(block), 400)]
    assert 2 < len(parts) <= 5
    raw = headers(1, parts[0], end_headers=False)
    raw += b"".join(continuation(1, p, end_headers=i == len(parts) - 2) for i, p in enumerate(parts[1:]))
    h2c.send(raw)
    status, body, reset = h2c.response(1, WAIT)
    assert (status, body, reset) == (200, b"ok", None)


def test_header_list_over_the_limit_is_refused_on_its_stream_only(h2c):
    # 5 KiB of headers: over REQUEST_MAX_HEADER_SIZE (4 KiB), within the block bound (8 KiB).
    h2c.request(1, "/", extra=[(f"x-h{i}", "v" * 500) for i in range(10)])
    status, _, reset = h2c.response(1, WAIT)
    assert (status, reset) == (431, None)
    served(h2c, 3)
    assert h2c.goaway() is None


def test_hpack_bomb_is_refused(h2c, probe):
    # One 4000-byte value enters the dynamic table once; then each block refers to it many times, so a
    # few bytes decode to far more than the block bound.
    h2c.request(1, "/", extra=[("x-big", "b" * 900)])
    h2c.response(1, WAIT)
    bomb = h2c.encode(request_headers("/", extra=[("x-big", "b" * 900)] * 40))
    assert len(bomb) < 200
    h2c.send(headers(3, bomb))
    closed_with(h2c, ENHANCE_YOUR_CALM)


def test_dynamic_table_larger_than_advertised_is_a_compression_error(h2c):
    h2c.encoder.header_table_size = 65536  # the next block starts with a table size update to 64 KiB
    h2c.request(1, "/")
    # RFC 9113 §4.3 says COMPRESSION_ERROR; python-hyper's h2 reports every decoding error as PROTOCOL_ERROR.
    closed_with(h2c, (COMPRESSION_ERROR, PROTOCOL_ERROR))


def test_a_client_offering_a_huge_table_does_not_make_the_server_keep_one(live, fresh):
    # The client lets the server's encoder use a 1 GiB dynamic table: the server keeps its own bound.
    with RawH2(live.port, values={HEADER_TABLE_SIZE: 1 << 30}) as conn:
        conn.reader.decoder.max_allowed_table_size = 1 << 30
        conn.handshake()
        for i in range(5):
            served(conn, 1 + 2 * i)
            assert conn.reader.decoder.header_table_size <= LIMITS["HTTP2_HEADER_TABLE_SIZE"]


# -- control-frame floods ---------------------------------------------------------------------------------
@pytest.mark.parametrize("flood", [
    pytest.param(settings({INITIAL_WINDOW_SIZE: 65535}), id="settings"),
    pytest.param(ping(), id="ping"),
    pytest.param(window_update(0, 1), id="window-update"),
    pytest.param(frame(0x2, 0, 1, b"\0\0\0\0\x10"), id="priority"),
    pytest.param(data(1, b""), id="empty-data"),
    pytest.param(frame(0xEE, 0, 0, b"?"), id="unknown-type"),
])
def test_control_frame_flood_is_refused(h2c, flood):
    if flood[3] == DATA:
        h2c.request(1, "/held", end_stream=False)
    h2c.send(flood * 1000)
    closed_with(h2c, ENHANCE_YOUR_CALM)


def test_a_ping_now_and_then_is_answered(h2c):
    for i in range(20):
        h2c.send(ping(b"%08d" % i))
        ack = h2c.read_until(lambda f: f.kind == 6 and f.flags & 1, WAIT)
        assert ack is not None and ack.payload == b"%08d" % i
    assert h2c.goaway() is None


def test_a_client_acknowledging_every_data_frame_downloads_without_tripping_the_budget(h2c):
    # As Go's client does: a WINDOW_UPDATE for the stream and one for the connection per DATA frame read.
    h2c.request(1, "/download?kib=4096")
    size = 0
    while True:
        got = h2c.read_until(lambda f: f.stream_id == 1 or f.kind == GOAWAY, WAIT)
        assert got is not None and got.kind in (HEADERS, DATA), got
        if got.kind == DATA and got.payload:
            size += len(got.payload)
            h2c.send(window_update(1, len(got.payload)) + window_update(0, len(got.payload)))
        if got.flags & 1:
            break
    assert size == 4096 * 1024
    assert h2c.goaway() is None


# -- zero window: a client that never lets the response through -------------------------------------------
def test_zero_stream_window_is_ended_by_the_write_timeout(live, fresh):
    probe = fresh
    with RawH2(live.port, values={INITIAL_WINDOW_SIZE: 0}) as conn:
        conn.handshake()
        conn.request(1, "/download")
        reset = conn.read_until(lambda f: f.kind in (RST_STREAM, GOAWAY) or f.kind == DATA, WAIT)
        assert reset is not None and reset.kind == RST_STREAM and reset.stream_id == 1, reset
        assert not conn.of_kind(DATA), "no DATA may pass a zero window"
        assert eventually(lambda: probe.finished == 1), "the writer was not ended"
        assert conn.read_until_closed(WAIT), "the idle connection was not closed afterwards"


def test_a_stream_held_at_a_zero_window_does_not_stall_the_others(live, fresh):
    # The client gives the connection's window back but never stream 1's: stream 1 stops at 64 KiB while
    # the other streams are answered (until the write timeout resets stream 1).
    with RawH2(live.port) as conn:
        conn.handshake()
        conn.request(1, "/download")
        received = 0
        while received < 65535:
            got = conn.read_until(lambda f: f.kind == DATA and f.stream_id == 1, WAIT)
            assert got is not None
            received += len(got.payload)
        conn.send(window_update(0, received))
        for i in range(3):
            served(conn, 3 + 2 * i)


def test_zero_connection_window_is_ended_by_the_write_timeout(live, fresh):
    probe = fresh
    with RawH2(live.port) as conn:
        conn.handshake()
        conn.request(1, "/download")  # 1 MiB against the connection's 64 KiB, never given back
        reset = conn.read_until(lambda f: f.kind in (RST_STREAM, GOAWAY), WAIT)
        assert reset is not None and reset.kind == RST_STREAM and reset.stream_id == 1, reset
        assert sum(len(f.payload) for f in conn.of_kind(DATA)) == 65535
        assert eventually(lambda: probe.finished == 1)


def test_client_that_stops_reading_the_socket_is_cut_by_the_write_timeout(live, fresh):
    probe = fresh
    with RawH2(live.port, values={INITIAL_WINDOW_SIZE: (1 << 31) - 1}) as conn:
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        conn.handshake()
        conn.send(window_update(0, (1 << 31) - 1 - 65535))
        conn.request(1, "/download?kib=65536")  # 64 MiB, far beyond the socket buffers
        assert eventually(lambda: probe.finished == 1), "the writer was not ended by the write timeout"
        assert probe.running == 0
