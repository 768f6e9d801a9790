"""docs/streaming-formats.md and docs/validation.md show only code that exists in examples/."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("page", ["streaming-formats.md", "validation.md"])
def test_every_python_block_is_in_an_example(page):
    text = (ROOT / "docs" / page).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 4, f"{page} shows too little code"
    sources = [p.read_text() for p in (ROOT / "examples").glob("*.py")]
    for block in blocks:
        block = textwrap.dedent(block).strip()
        assert any(block in source for source in sources), f"{page}: block not in examples/:\n{block}"

