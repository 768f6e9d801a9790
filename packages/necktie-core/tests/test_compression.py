"""Compression in the pipeline (pynecktie.compression) and Accept-Encoding negotiation (pynecktie.codings)."""

from __future__ import annotations

import zlib

import pytest
from pynecktie.blueprints import Blueprint
from pynecktie.codings import available, encoder, negotiate
from pynecktie.compression import add_vary
from pynecktie.config import Config
from pynecktie.headers import Headers
from pynecktie.response import stream, text

BODY = "compress me " * 100
OFFERED = ("br", "zstd", "gzip")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("gzip", "gzip"),
        ("GZIP;Q=0.5", "gzip"),
        ("x-gzip", "gzip"),
        ("gzip, br", "br"),
        ("gzip;q=1.0, br;q=0.9", "gzip"),
        ("zstd;q=0.2, gzip;q=0.1", "zstd"),
        ("*", "br"),
        ("*, br;q=0", "zstd"),
        ("br;q=0, zstd;q=0, *;q=0.5", "gzip"),
        ("identity;q=0", None),  # the identity refused, but nothing else offered: sent as it is
        ("gzip;q=0", None),
        ("gzip;q=nonsense", None),
        ("deflate, compress", None),
        ("", None),
        (" , ;q=1, gzip ; q=0.3 ", "gzip"),
    ],
)
def test_negotiate(accept, expected):
    assert negotiate(accept, OFFERED) == expected


def test_gzip_is_always_available_and_streams_decode_chunk_by_chunk():
    assert "gzip" in available()
    enc, dec = encoder("gzip"), zlib.decompressobj(31)
    for part in (b"first event\n\n", b"second event\n\n"):
        assert dec.decompress(enc.write(part)) == part  # flushed: nothing held back
    assert dec.decompress(enc.finish()) == b"" and dec.eof


def test_add_vary_keeps_what_is_there():
    headers = Headers({"Vary": "Origin"})
    add_vary(headers, "Accept-Encoding")
    add_vary(headers, "accept-encoding")
    assert headers["vary"] == "Origin, Accept-Encoding"
    star = Headers({"Vary": "*"})
    add_vary(star, "Accept-Encoding")
    assert star["vary"] == "*"


def test_list_settings_read_from_a_comma_separated_string():
    config = Config(COMPRESSION_CODINGS="gzip, zstd")
    assert config.COMPRESSION_CODINGS == ["gzip", "zstd"]


async def test_off_by_default(app, call):
    app.get("/")(lambda request: text(BODY))
    result = await call(app, "GET", "/", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in result.headers and "vary" not in result.headers
    assert result.text == BODY


async def test_a_route_turns_it_on_with_the_app_off(app, call):
    app.get("/on", compress=True)(lambda request: text(BODY))
    app.get("/off")(lambda request: text(BODY))
    on = await call(app, "GET", "/on", headers={"Accept-Encoding": "gzip"})
    assert on.headers["content-encoding"] == "gzip"
    assert zlib.decompress(on.body, 31).decode() == BODY
    off = await call(app, "GET", "/off", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in off.headers


async def test_a_blueprint_turns_it_on(app, call):
    bp = Blueprint("zipped", url_prefix="/z", compress=True)
    bp.get("/")(lambda request: text(BODY))
    app.blueprint(bp)
    result = await call(app, "GET", "/z/", headers={"Accept-Encoding": "gzip"})
    assert result.headers["content-encoding"] == "gzip"


async def test_error_pages_of_unmatched_requests_follow_the_app(app, call):
    app.config.COMPRESSION = True
    app.config.COMPRESSION_MIN_SIZE = 0
    result = await call(app, "GET", "/missing", headers={"Accept-Encoding": "gzip"})
    assert result.status == 404
    assert result.headers["content-encoding"] == "gzip"
    assert b"Not Found" in zlib.decompress(result.body, 31)


async def test_the_codings_setting_limits_and_orders_the_offer(app, call):
    app.config.COMPRESSION = True
    app.config.COMPRESSION_CODINGS = ["gzip", "unknown"]
    app.get("/")(lambda request: text(BODY))
    result = await call(app, "GET", "/", headers={"Accept-Encoding": "br, zstd, gzip;q=0.1"})
    assert result.headers["content-encoding"] == "gzip"


async def test_types_setting(app, call):
    app.config.COMPRESSION = True
    app.config.COMPRESSION_TYPES = ["application/vnd.custom"]
    app.get("/custom")(lambda request: text(BODY, content_type="application/vnd.custom; v=1"))
    app.get("/text")(lambda request: text(BODY))
    custom = await call(app, "GET", "/custom", headers={"Accept-Encoding": "gzip"})
    assert custom.headers["content-encoding"] == "gzip"
    plain = await call(app, "GET", "/text", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers and "vary" not in plain.headers


async def test_a_stream_declaring_a_small_length_is_left_alone(app, call):
    app.config.COMPRESSION = True

    async def body(response):
        await response.write("tiny")

    app.get("/")(lambda request: stream(body, headers={"Content-Length": "4"}))
    result = await call(app, "GET", "/", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in result.headers
    assert result.body == b"tiny"


async def test_a_compressed_stream_ends_with_the_compressors_tail(app, call):
    app.config.COMPRESSION = True

    async def body(response):
        await response.write("a" * 1000)
        await response.write(b"")
        await response.write("b" * 1000)

    app.get("/")(lambda request: stream(body))
    result = await call(app, "GET", "/", headers={"Accept-Encoding": "gzip"})
    assert result.streamed and result.ended
    decoder = zlib.decompressobj(31)
    assert decoder.decompress(result.body) == b"a" * 1000 + b"b" * 1000
    assert decoder.eof  # the gzip trailer was written before the end
