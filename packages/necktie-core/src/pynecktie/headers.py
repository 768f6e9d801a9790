"""Case-insensitive, multi-valued HTTP headers, and the checks that keep header text safe to send."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, MutableMapping

# RFC 9110 token characters: what a header name may contain.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# Field values may hold visible ASCII, SP, HTAB and obs-text (latin-1 above 0x7F): never CR, LF, NUL, other
# controls, or characters that latin-1 cannot encode. One search over many values joined checks them all.
_BAD_VALUE = re.compile(r"[^\t\x20-\x7e\x80-\xff]")
_checked_names: set[str] = set()

BAD_HEADER_VALUE = "a header value holds CR, LF, another control character or a character outside latin-1"


class InvalidResponse(ValueError):
    """The application built a response that cannot be sent as is (a bad status or header)."""


class InvalidHeader(InvalidResponse):
    """A header name or value set by application code would corrupt or split the response."""


def check_header_name(name: str) -> str:
    """Return *name* if it is a valid field name (an RFC 9110 token), else raise `InvalidHeader`."""
    if name in _checked_names:
        return name
    if not _TOKEN.match(name):
        raise InvalidHeader(f"invalid header name {name!r}")
    if len(_checked_names) < 4096:
        _checked_names.add(name)
    return name


def is_header_value(value: str) -> bool:
    """Whether *value* is safe to send as a field value (given several values joined, whether all are)."""
    if value.isascii() and value.isprintable():  # the usual value, told in two C calls: SP to ~ only
        return True
    return _BAD_VALUE.search(value) is None


def check_header_value(value: str) -> str:
    """Return *value* if it is safe to send as a field value, else raise `InvalidHeader` (`BAD_HEADER_VALUE`).

    Given several values joined, it checks them all at once.
    """
    if _BAD_VALUE.search(value):
        raise InvalidHeader(f"{BAD_HEADER_VALUE}: {value!r}")
    return value


class Headers(MutableMapping[str, str]):
    """Header fields looked up case-insensitively.

    ``headers[name]`` and ``get`` give the first value; ``getall`` gives every value in order.
    Setting an item replaces all values of that name; ``add`` appends one.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] | None = None) -> None:
        self._items: list[tuple[str, str]] = []
        if items is not None:
            pairs = items.items() if isinstance(items, Mapping) else items
            self._items.extend((str(k), str(v)) for k, v in pairs)

    @classmethod
    def from_raw(cls, raw: Iterable[tuple[bytes, bytes]]) -> Headers:
        """Build headers from raw (name, value) byte pairs as a parser hands them over."""
        self = cls.__new__(cls)
        self._items = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in raw]
        return self

    @classmethod
    def one(cls, name: str, value: str) -> Headers:
        """Headers holding the single field *name*: *value* (as ``Headers([(name, value)])``, in one step)."""
        self = cls.__new__(cls)
        self._items = [(name, value)]
        return self

    def __getitem__(self, name: str) -> str:
        lname = name.lower()
        for key, value in self._items:
            if key.lower() == lname:
                return value
        raise KeyError(name)

    def __setitem__(self, name: str, value: str) -> None:
        self._remove(name)
        self._items.append((name, str(value)))

    def __delitem__(self, name: str) -> None:
        if not self._remove(name):
            raise KeyError(name)

    def _remove(self, name: str) -> bool:
        """Drop every value of *name*; whether there was one."""
        lname = name.lower()
        kept = [(k, v) for k, v in self._items if k.lower() != lname]
        found = len(kept) != len(self._items)
        self._items = kept
        return found

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        lname = name.lower()
        return any(k.lower() == lname for k, _ in self._items)

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for key, _ in self._items:
            if key.lower() not in seen:
                seen.add(key.lower())
                yield key

    def __len__(self) -> int:
        return len({k.lower() for k, _ in self._items})

    def __bool__(self) -> bool:
        return bool(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.items()) == {k: v for k, v in other.items()}
        return NotImplemented

    def getall(self, name: str, default: list[str] | None = None) -> list[str]:
        """Every value of *name*, in the order received (``default`` or ``[]`` when absent)."""
        lname = name.lower()
        found = [v for k, v in self._items if k.lower() == lname]
        return found if found else ([] if default is None else default)

    def add(self, name: str, value: str) -> None:
        """Append a value for *name*, keeping the values already there."""
        self._items.append((name, str(value)))

    def raw_items(self) -> list[tuple[str, str]]:
        """Every (name, value) pair, repeated names included, in order."""
        return list(self._items)


def raw_header(raw_headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The first value of the header *name* (lower case) among *raw_headers* (as a parser hands them over),
    or None: one pass over the names and nothing else decoded, for a rule that needs one header only."""
    size = len(name)
    for key, value in raw_headers:
        if len(key) == size and key.lower() == name:
            return value.decode("latin-1")
    return None


def raw_header_values(raw_headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[str]:
    """Every value of the header *name* (lower case) among *raw_headers*, in order, as `raw_header` reads
    the first: for a reader that needs all of one header (a trace propagator)."""
    size = len(name)
    return [value.decode("latin-1") for key, value in raw_headers if len(key) == size and key.lower() == name]


def add_vary(headers: Headers, name: str) -> None:
    """Add *name* to the ``Vary`` header unless it (or ``*``) is listed already."""
    vary = headers.get("vary")
    if vary is None:
        headers.add("Vary", name)
        return
    listed = {v.strip().lower() for v in vary.split(",")}
    if name.lower() not in listed and "*" not in listed:
        headers["Vary"] = f"{vary}, {name}"
