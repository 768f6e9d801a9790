"""The checks of the ``CORS_*`` settings, shared by `pynecktie.config.Config` and the per-route and
per-blueprint ``cors=`` overrides (`pynecktie.cors`): what an origin, a method or a header name may be,
and the combinations refused (credentials with any origin)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["check_cors", "cors_names", "cors_origins", "is_regex"]

# scheme "://" host [":" port], nothing after: what a browser sends in Origin (or the opaque "null").
_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://(\[[0-9a-f:.]+\]|[^\s/?#@:\[\]]+)(:[0-9]{1,5})?\Z")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")


def is_regex(entry: str) -> bool:
    """Whether a ``CORS_ORIGINS`` entry is a regular expression (it starts with ``^``)."""
    return entry.startswith("^")


def cors_origins(value: Any) -> Any:
    """``CORS_ORIGINS`` as a list: ``"*"``, a regex (a string starting with ``^``, or a compiled pattern)
    or a comma-separated string of origins becomes a list. Each origin must be ``scheme://host[:port]``
    (no path, no trailing slash: a browser never sends one, so such an entry would never match)."""
    if isinstance(value, re.Pattern):
        value = [value]
    elif isinstance(value, str):
        value = [value] if is_regex(value) else [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple, set, frozenset)):
        return value  # pydantic says what is wrong with it
    entries: list[str] = []
    for entry in value:
        if isinstance(entry, re.Pattern):
            entry = entry.pattern if is_regex(entry.pattern) else "^" + entry.pattern
        if not isinstance(entry, str):
            raise ValueError(f"an origin is a string, not {entry!r}")
        entry = entry.strip()
        if is_regex(entry):
            try:
                re.compile(entry)
            except re.error as exc:
                raise ValueError(f"{entry!r} is not a valid regular expression: {exc}") from None
        elif entry not in ("*", "null"):
            entry = entry.lower()
            if not _ORIGIN.match(entry):
                raise ValueError(
                    f"{entry!r} is not an origin: scheme://host[:port], without a path or a trailing slash"
                )
        entries.append(entry)
    if "*" in entries and len(entries) > 1:
        raise ValueError('"*" allows every origin: list it alone')
    return entries


def cors_names(setting: str, value: Any) -> Any:
    """``CORS_METHODS``, ``CORS_HEADERS`` or ``CORS_EXPOSE_HEADERS`` as a list of tokens (a
    comma-separated string is split), ``*`` alone; methods upper case, request headers lower case."""
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple, set, frozenset)):
        return value
    case = {"CORS_METHODS": str.upper, "CORS_HEADERS": str.lower}.get(setting, str.strip)
    names = []
    for name in value:
        if not isinstance(name, str) or not _TOKEN.match(name.strip()):
            raise ValueError(f"{name!r} is not a method or header name")
        names.append(case(name.strip()))
    if "*" in names and len(names) > 1:
        raise ValueError('"*" means every one: list it alone')
    return names


def check_cors(origins: list[str], credentials: bool, expose: list[str]) -> None:
    """Refuse what a browser would refuse: credentials with every origin allowed (``*``), or with every
    response header exposed (``*`` is not a wildcard for credentialed requests)."""
    if not credentials:
        return
    if origins == ["*"]:
        raise ValueError(
            'CORS_CREDENTIALS=True cannot go with CORS_ORIGINS="*": browsers refuse credentials from a '
            "server that allows every origin. List the origins (or a regex), or leave credentials off "
            "(set CORS_ORIGINS before CORS_CREDENTIALS when changing both)"
        )
    if expose == ["*"]:
        raise ValueError(
            'CORS_CREDENTIALS=True cannot go with CORS_EXPOSE_HEADERS="*": for credentialed requests '
            "browsers read it as a header named *. List the headers to expose"
        )
