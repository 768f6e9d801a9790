"""The multipart and NDJSON readers over an in-memory body, split at every possible place."""

from __future__ import annotations

from collections import deque

import pytest
from pydantic import BaseModel, ConfigDict
from pynecktie.exceptions import BadRequest, PayloadTooLarge
from pynecktie.multipart import MultipartReader
from pynecktie.ndjson import NDJSONLineError, read_ndjson

BOUNDARY = "b0und4ry"
CTYPE = f"multipart/form-data; boundary={BOUNDARY}"
BODY = (
    b"\r\n--b0und4ry\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\n"
    b"value with \r\n--b0und in it\r\n"
    b"--b0und4ry\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\xc3\xbc.txt\"\r\n"
    b"Content-Type: text/csv\r\nX-Extra: 1\r\n\r\na,b\r\n1,2\r\n\r\n"
    b"--b0und4ry\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n"
    b"--b0und4ry--\r\nepilogue"
)
EXPECTED = [
    ("field", None, "text/plain", b"value with \r\n--b0und in it"),
    ("file", "fü.txt", "text/csv", b"a,b\r\n1,2\r\n"),
    ("empty", None, "text/plain", b""),
]


class Chunks:
    """A `RequestStream` stand-in handing over *data* in pieces of *size* bytes."""

    def __init__(self, data: bytes, size: int) -> None:
        self.pieces = deque(data[i:i + size] for i in range(0, len(data), size))

    async def get(self) -> bytes | None:
        return self.pieces.popleft() if self.pieces else None


async def _parts(stream: Chunks) -> list[tuple[str | None, str | None, str, bytes]]:
    parts = []
    async for part in MultipartReader(stream, CTYPE):  # type: ignore[arg-type]
        parts.append((part.name, part.filename, part.content_type, await part.read()))
    return parts


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11, 16, 64, len(BODY)])
async def test_multipart_parts_whatever_the_chunking(size):
    assert await _parts(Chunks(BODY, size)) == EXPECTED


async def test_multipart_part_headers():
    reader = MultipartReader(Chunks(BODY, 9), CTYPE)  # type: ignore[arg-type]
    await reader.__anext__()
    part = await reader.__anext__()
    assert part.headers["x-extra"] == "1"
    assert part.is_file and (await part.text()) == "a,b\r\n1,2\r\n"
    assert part.done and part.size == 10


async def test_multipart_preamble_is_refused():
    """Blank lines before the first boundary are skipped, any other preamble refused (browsers send none)."""
    with pytest.raises(BadRequest):
        await _parts(Chunks(b"preamble\r\n" + BODY, 64))


async def test_multipart_truncated_at_every_point_is_a_400():
    for cut in range(0, len(BODY) - len(b"epilogue") - 4, 7):
        with pytest.raises(BadRequest):
            await _parts(Chunks(BODY[:cut], 5))


class Point(BaseModel):
    x: int


@pytest.mark.parametrize("size", [1, 2, 3, 8, 1000])
async def test_ndjson_lines_whatever_the_chunking(size):
    body = b'{"x":1}\n\r\n{"x":2}\r\n   \n{"x":3}'
    assert [p.x async for p in read_ndjson(Chunks(body, size), Point)] == [1, 2, 3]  # type: ignore[arg-type]


class Deferred(BaseModel):
    """A model whose validator is built on first use (its adapter has no core validator up front)."""

    model_config = ConfigDict(defer_build=True)
    x: int


@pytest.mark.parametrize("model", [Point, Deferred, None])
async def test_ndjson_blank_lines_are_skipped_whatever_validates_them(model: type | None) -> None:
    """Blank lines (empty, spaces, a lone CR) are skipped, with the core validator or pydantic's wrapper."""
    body = Chunks(b'\n{"x":1}\n  \n\r\n\t\n{"x":2}\n\n', 3)
    got = [item async for item in read_ndjson(body, model)]  # type: ignore[arg-type]
    expected = [{"x": 1}, {"x": 2}] if model is None else [1, 2]
    assert [item if model is None else item.x for item in got] == expected
    with pytest.raises(NDJSONLineError) as info:
        async for _ in read_ndjson(Chunks(b'{"x":1}\n\n x\n', 2), model):  # type: ignore[arg-type]
            pass
    assert info.value.line == 3


async def test_ndjson_error_carries_the_line_number():
    items = []
    with pytest.raises(NDJSONLineError) as info:
        body = Chunks(b'{"x":1}\n\n{"x":"no"}\n{"x":3}\n', 4)
        async for p in read_ndjson(body, Point):  # type: ignore[arg-type]
            items.append(p.x)
    assert items == [1]
    assert info.value.line == 3 and info.value.status_code == 422
    assert info.value.errors[0]["loc"] == ["x"]


@pytest.mark.timeout(30)
async def test_ndjson_long_line_in_one_byte_chunks_is_read_in_linear_time():
    """Two 256 KiB lines sent a byte at a time: the reader must not re-copy the partial line per chunk.

    Linear, this takes under a second; re-copying (quadratic, ~34 GB here) took 80 s, past the timeout."""
    line = b'{"x":1,"pad":"' + b"p" * (1 << 18) + b'"}\n'
    assert [p.x async for p in read_ndjson(Chunks(line * 2, 1), Point)] == [1, 1]  # type: ignore[arg-type]


async def test_ndjson_partial_line_past_the_limit_is_413():
    with pytest.raises(PayloadTooLarge) as info:
        async for _ in read_ndjson(Chunks(b'{"x":1}\n' + b" " * 100, 7), Point, max_line_size=64):  # type: ignore[arg-type]
            pass
    assert "Line 2 of the NDJSON body exceeds 64 bytes" in str(info.value)
