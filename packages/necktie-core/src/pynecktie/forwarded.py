"""Proxy headers: what the trusted proxies in front of the server say about the client.

Nothing here is trusted by default. With ``PROXIES_COUNT = N`` the server sits behind exactly N proxies, each
appending to ``Forwarded`` (RFC 7239) or ``X-Forwarded-For``; the entry the outermost of them added — the
N-th from the right — names the client, and anything further left is the client's own claim and ignored.
``REAL_IP_HEADER`` names one header a proxy sets to the client's address; ``FORWARDED_SECRET`` trusts the
``Forwarded`` element carrying ``secret=<it>``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Config
    from .headers import Headers

_PAIR = re.compile(r'\s*([A-Za-z0-9!#$%&\'*+.^_`|~-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s"]*)\s*')
_SCHEMES = frozenset({"http", "https", "ws", "wss"})


def _elements(values: list[str]) -> list[dict[str, str]]:
    """The elements of ``Forwarded`` header values, in order; a malformed element is kept empty."""
    out: list[dict[str, str]] = []
    for value in values:
        for raw in _split_outside_quotes(value, ","):
            element: dict[str, str] = {}
            for pair in _split_outside_quotes(raw, ";"):
                if not pair.strip():
                    continue
                m = _PAIR.fullmatch(pair)
                if m is None:
                    element = {}
                    break
                v = m.group(2)
                if v.startswith('"'):
                    v = re.sub(r"\\(.)", r"\1", v[1:-1])
                element[m.group(1).lower()] = v
            out.append(element)
    return out


def _split_outside_quotes(value: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in value:
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def _node(value: str) -> tuple[str, str]:
    """(address, port) of a ``for=`` node: ``1.2.3.4:80``, ``[::1]:80``; ``unknown`` and ``_obf`` give ''."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        return host.lower(), rest[1:] if rest.startswith(":") else ""
    if value.count(":") == 1:
        host, port = value.split(":")
    else:
        host, port = value, ""
    if host.lower() == "unknown" or host.startswith("_"):
        return "", ""
    return host.lower(), port


def _clean(found: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    if found.get("for"):
        addr, port = _node(found["for"])
        if addr:
            out["for"] = addr
        if port.isdigit():
            out["port"] = port
    proto = found.get("proto", "").strip().lower()
    if proto in _SCHEMES:
        out["proto"] = proto
    host = found.get("host", "").strip()
    if host and all(32 < ord(c) < 127 for c in host):
        out["host"] = host.lower()
    port = found.get("port", "").strip()
    if port.isdigit() and len(port) <= 5:
        out["port"] = port
    path = found.get("path", "").strip()
    if path.startswith("/"):
        out["path"] = path
    return out


def _nth_from_right(values: list[str], n: int) -> str | None:
    items = [v.strip() for value in values for v in value.split(",")]
    return items[-n] if 0 < n <= len(items) else None


def forwarded(headers: Headers, config: Config) -> dict[str, str]:
    """What trusted proxies say of the client: ``for``, ``proto``, ``host``, ``port``, ``path`` (if known).

    Empty unless the configuration says proxies are trusted.
    """
    secret = config.FORWARDED_SECRET
    count = config.PROXIES_COUNT
    real_ip_header = config.REAL_IP_HEADER
    if not (secret or count or real_ip_header):
        return {}
    fwd = headers.getall("forwarded")
    if fwd and secret:
        for element in reversed(_elements(fwd)):
            if element.get("secret") == secret or element.get("by") == secret:
                return _clean(element)
    if fwd and count:
        elements = _elements(fwd)
        if len(elements) >= count:
            return _clean(elements[-count])
        return {}
    found: dict[str, str] = {}
    if real_ip_header:
        value = headers.get(real_ip_header)
        if value:
            found["for"] = value.strip()
    if count and "for" not in found:
        client = _nth_from_right(headers.getall("x-forwarded-for"), count)
        if client:
            found["for"] = client
    if found or count:
        for key in ("proto", "host", "port", "path"):
            values = headers.getall(f"x-forwarded-{key}")
            if values:
                found[key] = _nth_from_right(values, 1) or ""
    return _clean(found)
