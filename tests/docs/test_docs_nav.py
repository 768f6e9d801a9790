"""mkdocs.yml's nav lists every page of docs/ exactly once, and nothing that does not exist."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def nav_pages(entries: Any) -> list[str]:
    """The page files a nav (nested lists of ``{title: page or list}``) points to, in order."""
    pages: list[str] = []
    for entry in entries if isinstance(entries, list) else [entries]:
        if isinstance(entry, str):
            pages.append(entry)
        elif isinstance(entry, dict):
            for value in entry.values():
                pages += nav_pages(value)
    return pages


def test_every_page_is_in_the_nav_once():
    # mkdocs' own tags (!!python/name:...) are not used in this mkdocs.yml, so the safe loader reads it.
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    listed = nav_pages(config["nav"])
    twice = [page for page, count in Counter(listed).items() if count > 1]
    assert twice == [], f"listed more than once in mkdocs.yml's nav: {twice}"
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    missing, extra = sorted(set(pages) - set(listed)), sorted(set(listed) - set(pages))
    assert sorted(listed) == pages, f"missing from the nav: {missing}; not in docs/: {extra}"
