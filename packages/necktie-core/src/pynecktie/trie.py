"""The segment trie dynamic patterns share, and the depth-first search that resolves a path in it.

Literal segments are dict lookups, parameter edges are tried with precompiled regexes (most specific rank
first, then registration order), and only a failed branch backtracks.
"""

from __future__ import annotations

import bisect
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .patterns import Segment
    from .route import Entry, Route


class Node:
    """A trie node: literal children, parameter edges (most specific first), ``path`` tails, and the
    entry of the patterns that end here."""

    __slots__ = ("children", "edges", "edge_keys", "tails", "entry")

    def __init__(self) -> None:
        self.children: dict[str, Node] = {}
        # (rank, order, regex, multi-valued, child), sorted by (rank, order)
        self.edges: list[tuple[int, int, re.Pattern[str], bool, Node]] = []
        self.edge_keys: dict[str, Node] = {}
        # (rank, order, regex on the rest of the path, entry)
        self.tails: list[tuple[int, int, re.Pattern[str], Entry]] = []
        self.entry: Entry | None = None


def _precedence(item: tuple[Any, ...]) -> tuple[int, int]:
    return item[0], item[1]


def insert(root: Node, segments: list[Segment], order: int, new_entry: type[Entry]) -> tuple[Entry, int]:
    """The entry where *segments* end below *root* (created with *new_entry* if new), and the next
    registration *order* (ties between equally ranked edges go to the earlier one)."""
    node = root
    for seg in segments:
        order += 1
        if seg.kind == "literal":
            node = node.children.setdefault(seg.key, Node())
        elif seg.kind == "tail":
            assert seg.regex is not None
            entry = new_entry()
            bisect.insort(node.tails, (seg.rank, order, seg.regex, entry), key=_precedence)
            return entry, order
        else:
            assert seg.regex is not None
            child = node.edge_keys.get(seg.key)
            if child is None:
                child = node.edge_keys[seg.key] = Node()
                edge = (seg.rank, order, seg.regex, seg.kind == "mixed", child)
                bisect.insort(node.edges, edge, key=_precedence)
            node = child
    if node.entry is None:
        node.entry = new_entry()
    return node.entry, order


def walk(
    node: Node, segments: list[str], i: int, path: str, method: str, values: list[str], refused: list[Entry]
) -> Route | None:
    """Depth-first search of the trie from *node* at ``segments[i]``, collecting parameter values."""
    if i == len(segments):
        entry = node.entry
        if entry is None:
            return None
        route = entry.pick(method)
        if route is None:
            refused.append(entry)
        return route
    seg = segments[i]
    child = node.children.get(seg)
    if child is not None:
        found = walk(child, segments, i + 1, path, method, values, refused)
        if found is not None:
            return found
    if seg:
        for _, _, regex, multi, child in node.edges:
            m = regex.fullmatch(seg)
            if m is None:
                continue
            mark = len(values)
            if multi:
                values.extend(_values(m))
            else:
                values.append(seg)
            found = walk(child, segments, i + 1, path, method, values, refused)
            if found is not None:
                return found
            del values[mark:]
    if node.tails:
        rest = "/".join(segments[i:])
        for _, _, regex, entry in node.tails:
            m = regex.fullmatch(rest)
            if m is None:
                continue
            route = entry.pick(method)
            if route is None:
                refused.append(entry)
                continue
            values.extend(_values(m))
            return route
    return None


def _values(m: re.Match[str]) -> list[str]:
    """The parameter values of a mixed segment or tail (groups ``_0``, ``_1``...; a user regex's own
    groups are ignored)."""
    return [m.group(f"_{i}") for i in range(len(m.re.groupindex)) if f"_{i}" in m.re.groupindex]
