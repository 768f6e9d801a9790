"""Content codings: which ones this process can produce, and picking one from ``Accept-Encoding``.

gzip comes from the standard library (zlib); ``br`` needs the ``brotli`` package and ``zstd`` the
``zstandard`` package (``pip install necktie-core[brotli,zstd]``), used when installed. An `Encoder`
compresses one response body: ``write`` returns everything the data so far compresses to (flushed, so a
streamed chunk reaches the client whole), ``finish`` the end of the stream. No I/O here.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Iterable
from typing import Any, Protocol

__all__ = ["Encoder", "available", "encoder", "negotiate", "ranked", "usable"]


class Encoder(Protocol):
    """One response body's compressor."""

    def write(self, data: bytes) -> bytes:
        """Compress *data* and flush: the bytes returned decode to everything written so far."""
        ...

    def finish(self) -> bytes:
        """The last bytes of the compressed stream."""
        ...


class _Gzip:
    __slots__ = ("_c",)

    def __init__(self) -> None:
        self._c = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 16+15: a gzip header and trailer

    def write(self, data: bytes) -> bytes:
        return self._c.compress(data) + self._c.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._c.flush(zlib.Z_FINISH)


class _Brotli:
    __slots__ = ("_c",)

    def __init__(self, module: Any) -> None:
        self._c = module.Compressor(quality=4)  # the usual quality for content made per request

    def write(self, data: bytes) -> bytes:
        return bytes(self._c.process(data) + self._c.flush())

    def finish(self) -> bytes:
        return bytes(self._c.finish())


class _Zstd:
    __slots__ = ("_c", "_block")

    def __init__(self, module: Any) -> None:
        self._c = module.ZstdCompressor(level=3).compressobj()
        self._block = module.COMPRESSOBJ_FLUSH_BLOCK

    def write(self, data: bytes) -> bytes:
        return bytes(self._c.compress(data) + self._c.flush(self._block))

    def finish(self) -> bytes:
        return bytes(self._c.flush())


def _factories() -> dict[str, Callable[[], Encoder]]:
    found: dict[str, Callable[[], Encoder]] = {"gzip": _Gzip}
    try:
        import brotli
    except ImportError:
        pass
    else:
        found["br"] = functools.partial(_Brotli, brotli)
    try:
        import zstandard
    except ImportError:
        pass
    else:
        found["zstd"] = functools.partial(_Zstd, zstandard)
    return found


_FACTORIES = _factories()


def available() -> frozenset[str]:
    """The codings this process can produce (gzip always; br and zstd when their packages are installed)."""
    return frozenset(_FACTORIES)


def encoder(coding: str) -> Encoder:
    """A new `Encoder` for *coding* (one of `available`)."""
    return _FACTORIES[coding]()


def _weights(accept_encoding: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip()
        if not coding:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        weights[coding] = q
    return weights


@functools.lru_cache(maxsize=256)
def ranked(accept_encoding: str, offered: tuple[str, ...]) -> tuple[str, ...]:
    """The codings of *offered* (in the server's order of preference) the client accepts, best first
    (RFC 9110 §12.5.3).

    A coding the header does not name is acceptable at the q of ``*``; q=0 refuses it. Among codings of
    equal q the server's order decides. ``x-gzip`` counts as gzip.
    """
    weights = _weights(accept_encoding)
    if "x-gzip" in weights and "gzip" not in weights:
        weights["gzip"] = weights["x-gzip"]
    star = weights.get("*", 0.0)
    scored = [(weights.get(coding, star), -n, coding) for n, coding in enumerate(offered)]
    return tuple(coding for q, _, coding in sorted(scored, reverse=True) if q > 0)


def negotiate(accept_encoding: str, offered: tuple[str, ...]) -> str | None:
    """The coding of *offered* the client takes best (`ranked`'s first), or None for the identity."""
    best = ranked(accept_encoding, offered)
    return best[0] if best else None


def usable(codings: Iterable[str]) -> tuple[str, ...]:
    """*codings* (a setting's list, in order of preference) less those this process cannot produce."""
    return tuple(c for c in (c.strip().lower() for c in codings) if c in _FACTORIES)
