"""Every ```json block in docs/ (an answer the page shows) is a value a tested file asserts, exactly."""

from __future__ import annotations

import ast
import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md"))
SOURCES = [*ROOT.glob("examples/**/*.py"), *ROOT.glob("tests/**/*.py"),
           *ROOT.glob("packages/*/tests/**/*.py")]
UNKNOWN = object()


def _value(node: ast.AST, names: dict[str, Any]) -> Any:
    """A literal's value; ``{**NAME, ...}`` resolves NAME among the module's literal constants."""
    if isinstance(node, ast.Dict) and None in node.keys:
        out: dict[Any, Any] = {}
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                base = names.get(value.id, UNKNOWN) if isinstance(value, ast.Name) else UNKNOWN
                if not isinstance(base, dict):
                    return UNKNOWN
                out.update(base)
            else:
                item = _value(value, names)
                if item is UNKNOWN:
                    return UNKNOWN
                out[ast.literal_eval(key)] = item
        return out
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return UNKNOWN


@functools.cache
def asserted_values() -> list[Any]:
    """Every dict or list literal of every tested file."""
    values = []
    for path in SOURCES:
        tree = ast.parse(path.read_text())
        names = {target.id: _value(node.value, {}) for node in tree.body if isinstance(node, ast.Assign)
                 for target in node.targets if isinstance(target, ast.Name)}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Dict, ast.List)):
                value = _value(node, names)
                if value is not UNKNOWN:
                    values.append(value)
    return values


@pytest.mark.parametrize("page", [p for p in DOCS if "```json\n" in p.read_text()], ids=lambda p: p.name)
def test_every_json_block_is_an_asserted_value(page):
    values = asserted_values()
    for block in re.findall(r"```json\n(.*?)```", page.read_text(), flags=re.S):
        shown = json.loads(block)
        assert shown in values, f"{page.name}: no tested file asserts this answer:\n{block}"
