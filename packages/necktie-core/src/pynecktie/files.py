"""File responses, the pipeline's part: validators, conditional requests, byte ranges, and a generic sender.

`prepare` opens the file a `FileResponse` names and decides what to send: a 304, a 206 part, a 416 error or
the whole file, setting the headers that say so. Opening happens in a worker thread (`open_response`, which
also reads a small file whole), so the event loop never waits on the disk. `send` hands the file to the
carrier: its ``send_file`` when it has one (necktie-server uses the kernel's ``sendfile``), else
`send_chunked`, which reads the file in a worker thread a chunk at a time and writes through the ordinary
streaming seam — any carrier can serve files."""

from __future__ import annotations

import asyncio
import functools
import io
import mimetypes
import os
import re
import stat
from collections.abc import AsyncIterator
from datetime import datetime
from email.utils import formatdate, parsedate_to_datetime
from typing import IO, TYPE_CHECKING
from urllib.parse import quote

from .exceptions import Forbidden, NotFound, RangeNotSatisfiable
from .response import FileResponse

if TYPE_CHECKING:
    from .headers import Headers
    from .request import Request
    from .seam import ResponseSink

_TOKEN_CHARS = re.compile(r"[^!#$&+\-.^_`|~0-9A-Za-z]")


@functools.lru_cache(maxsize=4096)
def guess_type(path: str) -> str:
    """The MIME type for a file name (``application/octet-stream`` when unknown; text types in UTF-8)."""
    mime, _ = mimetypes.guess_type(path, strict=False)
    if mime is None:
        return "application/octet-stream"
    if mime.startswith("text/") or mime in ("application/javascript", "application/json", "image/svg+xml"):
        return f"{mime}; charset=utf-8"
    return mime


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """A ``Content-Disposition`` value naming *filename*, safe for any characters it may hold (RFC 6266)."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename)
    value = f'{disposition}; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


@functools.lru_cache(maxsize=1024)
def _http_date(seconds: int) -> str:
    return formatdate(seconds, usegmt=True)


def _etag_of(st: os.stat_result) -> str:
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


def _parse_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _etag_matches(header: str, etag: str) -> bool:
    """Weak comparison of an ``If-None-Match`` list with *etag*."""
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))


def not_modified(headers: Headers, etag: str | None, mtime: float | None) -> bool:
    """Whether a GET or HEAD with these request *headers* may be answered 304 (RFC 9110 §13.2.2)."""
    inm = headers.get("if-none-match")
    if inm is not None:
        return etag is not None and _etag_matches(inm, etag)
    ims = headers.get("if-modified-since")
    if ims is not None and mtime is not None:
        since = _parse_date(ims)
        return since is not None and int(mtime) <= since
    return False


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """The (offset, length) a ``Range`` header asks of a *size*-byte file.

    None means "ignore the header and send everything": absent or malformed, or several ranges of which
    some part of the file is satisfiable (this server answers those whole, as RFC 9110 allows). Raises
    `RangeNotSatisfiable` when no range asked for starts inside the file, however large the numbers.
    """
    unit, eq, specs = value.strip().partition("=")
    if not eq or unit.rstrip().lower() != "bytes":
        return None
    ranges: list[tuple[int, int] | None] = []
    for spec in specs.split(","):
        first, dash, last = spec.strip().partition("-")
        if not dash or not (first or last) or not _digits(first) or not _digits(last):
            return None
        if first and last and _number(last) < _number(first):
            return None  # an invalid range-spec makes the whole header invalid: ignore it
        ranges.append(_satisfiable(first, last, size))
    if all(part is None for part in ranges):
        raise _unsatisfiable(size)
    return ranges[0] if len(ranges) == 1 else None


def _digits(text: str) -> bool:
    return not text or (text.isascii() and text.isdigit())


# More digits than this cannot be an offset in any file: compared as "huge" without int() (which refuses
# strings over 4300 digits, and costs quadratic time on long ones).
_MAX_DIGITS = 18
_HUGE = 1 << 62


def _number(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return _HUGE if len(digits) > _MAX_DIGITS else int(digits)


def _satisfiable(first: str, last: str, size: int) -> tuple[int, int] | None:
    """(offset, length) of one valid range-spec within a *size*-byte file, or None if it misses the file."""
    if not first:  # the last N bytes
        suffix = _number(last)
        if suffix == 0 or size == 0:
            return None
        start = max(0, size - suffix)
        return start, size - start
    start = _number(first)
    if start >= size:
        return None
    end = min(_number(last), size - 1) if last else size - 1
    return start, end - start + 1


def _unsatisfiable(size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(
        f"Requested range not satisfiable (the file has {size} bytes)",
        headers={"Content-Range": f"bytes */{size}"},
    )


def _if_range_holds(value: str, etag: str | None, mtime: float) -> bool:
    value = value.strip()
    if value.startswith(('"', "W/")):
        return etag is not None and not value.startswith("W/") and value == etag
    since = _parse_date(value)
    return since is not None and int(mtime) == since


SMALL_FILE = 32_768  # up to this size a file is read whole when it is opened, and sent with its head at once


def open_file(path: str) -> tuple[IO[bytes], os.stat_result]:
    """Open a regular file for reading: a missing file or a non-file is `NotFound`, an unreadable one
    `Forbidden`. Blocking: called in a worker thread (`open_response`), never on the event loop."""
    try:
        f = io.FileIO(path, "r")  # unbuffered: only its descriptor is used; closed by FileResponse.close
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, ValueError):
        raise NotFound("File not found") from None
    except PermissionError:
        raise Forbidden("File not readable") from None
    try:
        st = os.fstat(f.fileno())
    except OSError:
        f.close()
        raise
    if not stat.S_ISREG(st.st_mode):
        f.close()
        raise NotFound("File not found")
    return f, st


def open_response(response: FileResponse) -> None:
    """Open *response*'s file and stat it; a small one (sent with the kernel's help otherwise) is read
    whole and closed at once. Blocking: run it in a worker thread, as `prepare` and `StaticFiles` do."""
    if not mimetypes.inited:
        mimetypes.init()  # reads the system's MIME tables once: here, not on the loop in guess_type
    f, st = open_file(response.location)
    if response.use_sendfile and st.st_size <= SMALL_FILE:
        try:
            response.data = os.pread(f.fileno(), st.st_size, 0)
        finally:
            f.close()
    else:
        response.file = f
    response.stat = st


async def prepare(request: Request, response: FileResponse) -> None:
    """Open the file of *response* (in a worker thread, unless a handler did) and set its status, headers
    and the part to send for *request*."""
    if response.stat is None:
        await asyncio.get_running_loop().run_in_executor(None, open_response, response)
    assert response.stat is not None
    try:
        _prepare_open(request, response, response.stat)
    except BaseException:
        response.close()
        raise
    if response.status == 304:
        response.close()


def _prepare_open(request: Request, response: FileResponse, st: os.stat_result) -> None:
    headers = response.headers
    # A new response has no headers yet: add each without the search-and-rebuild of item assignment.
    put = headers.add if not headers else functools.partial(_put_default, headers)
    size = st.st_size
    if response.content_type is None:
        response.content_type = guess_type(response.location)
    if response.filename and "content-disposition" not in headers:
        put("Content-Disposition", content_disposition(response.filename))
    etag: str | None = None
    if response.etag:
        etag = response.etag if isinstance(response.etag, str) else _etag_of(st)
        put("ETag", etag)
    mtime: float | None = None
    if response.last_modified is not False:
        lm = response.last_modified
        mtime = (
            lm.timestamp()
            if isinstance(lm, datetime)
            else float(lm)
            if not isinstance(lm, bool)
            else st.st_mtime
        )
        put("Last-Modified", _http_date(int(mtime)))
    if response.no_store:
        put("Cache-Control", "no-store")
    elif response.max_age is not None:
        put("Cache-Control", f"public, max-age={int(response.max_age)}")
    method = request.method
    conditional = response.use_conditional and response.status == 200 and method in ("GET", "HEAD")
    request_headers = request.headers
    if conditional and not_modified(request_headers, etag, mtime):
        response.status = 304
        response.offset = response.count = 0
        return
    offset, count = 0, size
    if response.use_range and response.status == 200:
        put("Accept-Ranges", "bytes")
        range_header = request_headers.get("range") if method == "GET" else None
        if range_header is not None:
            if_range = request_headers.get("if-range")
            if if_range is None or _if_range_holds(if_range, etag, st.st_mtime):
                part = parse_range(range_header, size)
                if part is not None:
                    offset, count = part
                    response.status = 206
                    _replace(headers, "Content-Range", f"bytes {offset}-{offset + count - 1}/{size}")
    _replace(headers, "Content-Length", str(count))
    response.offset, response.count = offset, count


def _put_default(headers: Headers, name: str, value: str) -> None:
    if name not in headers:
        headers.add(name, value)


def _replace(headers: Headers, name: str, value: str) -> None:
    if name in headers:
        headers[name] = value
    else:
        headers.add(name, value)


async def read_chunks(
    file: IO[bytes], offset: int, count: int, chunk_size: int = 262_144
) -> AsyncIterator[bytes]:
    """*count* bytes of *file* from *offset*, read in a worker thread *chunk_size* at a time.

    Stops early if the file became shorter than announced.
    """
    loop = asyncio.get_running_loop()
    fd = file.fileno()
    while count > 0:
        data = await loop.run_in_executor(None, os.pread, fd, min(chunk_size, count), offset)
        if not data:
            return
        offset += len(data)
        count -= len(data)
        yield data


async def send_chunked(sink: ResponseSink, response: FileResponse, skip_body: bool = False) -> None:
    """Send a prepared file response through *sink*'s streaming calls (for carriers without ``send_file``)."""
    await sink.start(response)
    if not skip_body and response.file is not None:
        async for chunk in read_chunks(response.file, response.offset, response.count, response.chunk_size):
            await sink.write(chunk)
    await sink.end()


async def send(request: Request, response: FileResponse, sink: ResponseSink) -> None:
    """Send a prepared file response: a bodiless 304, a small file (read when opened) in one piece, the
    carrier's ``send_file``, or `send_chunked`."""
    try:
        if response.status == 304:
            await sink.send(response, b"")
            return
        if response.data is not None:
            # A few KiB read with the open cost less than a second thread hop or a second write, and the
            # head and body leave in one packet.
            await sink.send(response, response.data[response.offset : response.offset + response.count])
            return
        send_file = getattr(sink, "send_file", None)
        if send_file is not None and response.use_sendfile and response.file is not None:
            await send_file(response, response.file, response.offset, response.count)
        else:
            await send_chunked(sink, response, skip_body=request.method == "HEAD")
    finally:
        response.close()
