"""Path patterns: parameter types, and the one parser that turns a pattern into trie segments.

A pattern is literal text with parameters: ``<name>``, ``<name:type>`` or ``<name:regex>``. A type is a
`ParamType`: the regex a value must match, the function that converts it for the handler, the one that
turns a value back into text for ``url_for``, and a rank (lower ranks are tried first where patterns
compete). The built-in types are `BUILTIN_TYPES`; a router may add its own (`Router.register_type`).

`parse` reads a pattern's syntax once into tokens (literal text and parameters); `Pattern.segments` compiles
them into what the trie stores, for the pattern as written or with its trailing slash toggled.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

_PARAM = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)(?::((?:[^<>]|<[^<>]*>)+))?>")
TYPE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

LITERAL_RANK = 0
REGEX_RANK = 4  # a ``<name:regex>`` parameter, and a registered type unless it says otherwise


@dataclass(frozen=True, slots=True)
class ParamType:
    """A parameter type: *regex* matches a value inside one path segment (or, with *spans_segments*, the
    rest of the path); *convert* makes the handler's value (raising ``ValueError`` makes the path a 404);
    *to_string* renders a value for ``url_for``; *rank* orders competing patterns (lower first); *schema*
    is its JSON Schema in the OpenAPI document (default: from *convert*, else a string matching *regex*)."""

    name: str
    regex: str
    convert: Callable[[str], Any] = str
    to_string: Callable[[Any], str] = str
    rank: int = REGEX_RANK
    spans_segments: bool = False
    schema: Mapping[str, Any] | None = None  # the JSON Schema OpenAPI gives it (pynecktie.openapi.params)
    compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            compiled = re.compile(self.regex)  # a bad regex fails at registration, not per request
        except re.error as exc:
            raise ValueError(
                f"invalid regex {self.regex!r} for parameter type {self.name!r}: {exc}"
            ) from None
        object.__setattr__(self, "compiled", compiled)


BUILTIN_TYPES: Mapping[str, ParamType] = {
    t.name: t
    for t in (
        ParamType("int", r"-?[0-9]+", int, rank=1),
        ParamType("float", r"-?[0-9]+(?:\.[0-9]+)?", float, rank=2),
        ParamType(
            "uuid",
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
            uuid.UUID,
            rank=1,
        ),
        ParamType("slug", r"[a-z0-9]+(?:-[a-z0-9]+)*", rank=3),
        ParamType("alpha", r"[A-Za-z]+", rank=3),
        ParamType("ext", r"[^/]+\.[A-Za-z0-9]+", rank=3),
        ParamType("str", r"[^/]+", rank=5),
        ParamType("path", r"(?s:.+)", rank=6, spans_segments=True),
    )
}


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of a pattern: its name, its type, and the type as written (``int``, or a regex)."""

    name: str
    type: ParamType
    kind: str


Token = str | Param


@dataclass(slots=True)
class Segment:
    """What the trie stores for one segment: literal text, a parameter, several parameters in text
    (``mixed``), or a ``tail`` matched against the rest of the path."""

    kind: str  # "literal", "param", "mixed" or "tail"
    key: str  # identifies the edge in the trie (parameter names left out)
    regex: re.Pattern[str] | None = None
    rank: int = LITERAL_RANK
    params: tuple[tuple[str, Callable[[str], Any]], ...] = ()


@dataclass(frozen=True, slots=True)
class Pattern:
    """A parsed path pattern: its tokens (after the leading ``/``) and its parameters by name."""

    path: str
    tokens: tuple[Token, ...]
    params: Mapping[str, Param]

    @property
    def converters(self) -> tuple[tuple[str, Callable[[str], Any]], ...]:
        """(name, convert) of each parameter, in the order the path gives their values."""
        return tuple((p.name, p.type.convert) for p in self.params.values())

    def segments(self, trailing_slash: bool | None = None) -> list[Segment]:
        """The trie segments of the pattern, or of its variant with (True) or without (False) a trailing
        slash."""
        tokens = list(self.tokens)
        last = tokens[-1] if tokens else None
        ends_with_slash = isinstance(last, str) and last.endswith("/")
        if trailing_slash is True and not ends_with_slash:
            tokens.append("/")
        elif trailing_slash is False and isinstance(last, str) and ends_with_slash:
            tokens[-1] = last[:-1]
        return _compile(tokens)


def parse(path: str, types: Mapping[str, ParamType] = BUILTIN_TYPES) -> Pattern:
    """Read *path*'s parameters once: `ValueError` for a repeated name or an invalid regex.

    A type name known to *types* is that type; anything else after the colon is a regex (a ``str``).
    """
    tokens: list[Token] = []
    params: dict[str, Param] = {}
    pos = 1  # after the leading slash
    for m in _PARAM.finditer(path, pos):
        if m.start() > pos:
            tokens.append(path[pos : m.start()])
        name, kind = m.group(1), m.group(2) or "str"
        if name in params:
            raise ValueError(f"parameter {name!r} appears twice in {path!r}")
        known = types.get(kind)
        if known is None:
            try:
                known = ParamType(kind, kind)
            except ValueError as exc:
                raise ValueError(f"{exc} (parameter {name!r} in {path!r})") from None
        params[name] = param = Param(name, known, kind)
        tokens.append(param)
        pos = m.end()
    if pos < len(path):
        tokens.append(path[pos:])
    return Pattern(path, tuple(tokens), params)


def _split(tokens: list[Token]) -> list[list[Token]]:
    """The tokens grouped by path segment (literal text split at its slashes)."""
    segments: list[list[Token]] = [[]]
    for token in tokens:
        if isinstance(token, Param):
            segments[-1].append(token)
            continue
        for i, text in enumerate(token.split("/")):
            if i:
                segments.append([])
            if text:
                segments[-1].append(text)
    return segments


def _compile(tokens: list[Token]) -> list[Segment]:
    out: list[Segment] = []
    segments = _split(tokens)
    for index, seg in enumerate(segments):
        params = [t for t in seg if isinstance(t, Param)]
        if not params:
            out.append(Segment("literal", "".join(t for t in seg if isinstance(t, str))))
        elif any(p.type.spans_segments for p in params):
            # A path parameter spans segments: the rest of the pattern is one regex on the rest of the path.
            rest: list[Token] = []
            for i, later in enumerate(segments[index:]):
                rest.extend(["/", *later] if i else later)
            regex, key, found = _regex(rest)
            out.append(Segment("tail", key, regex, BUILTIN_TYPES["path"].rank, found))
            return out
        elif len(seg) == 1:
            param = params[0]
            kind = param.type
            out.append(
                Segment("param", f"<:{param.kind}>", kind.compiled, kind.rank, ((param.name, kind.convert),))
            )
        else:
            regex, key, found = _regex(seg)
            out.append(Segment("mixed", key, regex, REGEX_RANK, found))
    return out


def _regex(tokens: list[Token]) -> tuple[re.Pattern[str], str, tuple[tuple[str, Callable[[str], Any]], ...]]:
    """A regex with a group ``_<i>`` per parameter, the trie key, and the parameters' converters."""
    parts: list[str] = []
    keys: list[str] = []
    found: list[tuple[str, Callable[[str], Any]]] = []
    for token in tokens:
        if isinstance(token, str):
            parts.append(re.escape(token))
            keys.append(token)
        else:
            parts.append(f"(?P<_{len(found)}>{token.type.regex})")
            keys.append(f"<:{token.kind}>")
            found.append((token.name, token.type.convert))
    return re.compile("".join(parts)), "".join(keys), tuple(found)
