"""The documentation site: it builds strictly, and every Python block on every page is code that a test
runs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md"))
# Where tested code lives: the examples the tests serve, and the packages' own test suites.
SOURCES = [
    *ROOT.glob("examples/**/*.py"),
    *ROOT.glob("tests/**/*.py"),
    *ROOT.glob("packages/*/tests/**/*.py"),
]


# Pages whose blocks are not yet all quoted from tested files. strict: the mark fails once a page is fixed,
# so it must then be taken off this list.
NOT_YET_TESTED: set[str] = set()


@pytest.mark.parametrize("page", [
    pytest.param(p, marks=pytest.mark.xfail(strict=True, reason="blocks not yet from tested files"))
    if p.name in NOT_YET_TESTED else p for p in DOCS
], ids=lambda p: p.name)
def test_every_python_block_is_tested_code(page):
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    sources = [p.read_text() for p in SOURCES]
    for block in blocks:
        block = textwrap.dedent(block).strip()
        assert any(block in source for source in sources), (
            f"{page.name}: this block is in no tested file:\n{block}"
        )


def test_the_site_builds_strictly(tmp_path):
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent))
    assert mkdocs, "mkdocs is installed by requirements-dev.txt"
    result = subprocess.run([mkdocs, "build", "--strict", "-d", str(tmp_path / "site")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300, env={"NO_MKDOCS_2_WARNING": "1",
                                                                              "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "streaming" / "index.html").exists()
    assert "RequestStream" in (tmp_path / "site" / "reference" / "index.html").read_text()
