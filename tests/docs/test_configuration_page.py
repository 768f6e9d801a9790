"""docs/configuration.md's settings table is the `Config` model: same settings, order, types and defaults.

When a setting is added, renamed or changes its default, this test fails and prints the rows the page
should have (meanings kept from the page where it has them)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic.fields import FieldInfo
from pynecktie.config import ENV_PREFIX, Config

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
ROW = re.compile(r"^\| `([A-Z0-9_]+)` \| `([A-Z0-9_]+)` \| (.+?) \| (.+?) \| (.*) \|$", re.M)
BOUNDS = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}


def render_type(field: FieldInfo) -> str:
    """The type column: ``int ≥ 0``, ``float > 0``, ``str or None``, ``one of `a`, `b```."""
    annotation: Any = field.annotation
    optional = False
    if get_origin(annotation) in (Union, __import__("types").UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) < len(get_args(annotation))
        assert len(args) == 1, f"teach render_type about {annotation}"
        annotation = args[0]
    if get_origin(annotation) is list and get_args(annotation) == (str,):
        return "list of str" + (" or `None`" if optional else "")
    assert annotation in (bool, int, float, str), f"teach render_type about {annotation}"
    text = annotation.__name__
    for meta in field.metadata:
        bound = next(((sym, getattr(meta, key)) for key, sym in BOUNDS.items()
                      if getattr(meta, key, None) is not None), None)
        pattern = getattr(meta, "pattern", None)
        if bound:
            text += f" {bound[0]} {bound[1]}"
        elif pattern:
            choices = re.fullmatch(r"\^\(([\w|\\.]+)\)\$", pattern)
            if choices:
                options = choices.group(1).replace("\\", "").split("|")
                text = "one of " + ", ".join(f'`"{c}"`' for c in options)
            else:
                assert "|" not in pattern, f"teach render_type about the pattern {pattern}"
                text = f"str matching `{pattern}`"
        else:
            raise AssertionError(f"teach render_type about {meta!r}")
    return text + (" or `None`" if optional else "")


def render_default(value: Any) -> str:
    return f'`"{value}"`' if isinstance(value, str) else f"`{value!r}`"


def expected_rows() -> list[tuple[str, str, str, str]]:
    """(setting, environment variable, type, default) for every field of `Config`, in model order."""
    return [(name, f"{ENV_PREFIX}{name}", render_type(field),
             render_default(field.get_default(call_default_factory=True)))
            for name, field in Config.model_fields.items()]


def test_the_settings_table_is_the_config_model():
    page = PAGE.read_text()
    found = [m.groups() for m in ROW.finditer(page)]
    meanings = {row[0]: row[4] for row in found}
    expected = expected_rows()
    if [row[:4] for row in found] != expected:
        table = "\n".join(f"| `{n}` | `{e}` | {t} | {d} | {meanings.get(n, 'TODO')} |"
                          for n, e, t, d in expected)
        raise AssertionError(f"docs/configuration.md's settings table should read:\n{table}")
    assert all(meaning.strip() for meaning in meanings.values()), "every setting says what it does"


def test_the_rendering_follows_the_model():
    rows = {row[0]: row for row in expected_rows()}
    assert rows["REQUEST_MAX_SIZE"] == ("REQUEST_MAX_SIZE", "NECKTIE_REQUEST_MAX_SIZE", "int ≥ 0",
                                        "`100000000`")
    assert rows["WORKERS"][2:] == ("int > 0", "`1`")
    assert rows["ACCESS_LOG"][2:] == ("bool or `None`", "`None`")
    assert rows["JSON_ENCODER"][2:] == ('one of `"orjson"`, `"stdlib"`', '`"orjson"`')
