"""Each package README (its page on the package index): Python blocks are tested code, links absolute."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*ROOT.glob("examples/**/*.py"), *ROOT.glob("tests/**/*.py"),
           *ROOT.glob("packages/*/tests/**/*.py")]


@pytest.mark.parametrize("package", ["necktie-core", "necktie-server", "necktie-testing"])
def test_every_python_block_of_the_readme_is_tested_code(package):
    readme = (ROOT / "packages" / package / "README.md").read_text()
    assert readme.startswith(f"# {package}\n")
    assert "pip install" in readme
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks, f"{package}'s README shows no example"
    sources = [p.read_text() for p in SOURCES]
    for block in blocks:
        block = textwrap.dedent(block).strip()
        assert any(block in source for source in sources), f"{package}/README.md: in no tested file:\n{block}"


def test_the_repository_readme_example_is_tested_code():
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert blocks
    sources = [p.read_text() for p in SOURCES]
    assert all(any(textwrap.dedent(b).strip() in source for source in sources) for b in blocks)


def test_readme_links_are_absolute():
    # Relative links break on the package index, which shows the README without the repository around it.
    for package in ["necktie-core", "necktie-server", "necktie-testing"]:
        readme = (ROOT / "packages" / package / "README.md").read_text()
        links = re.findall(r"\]\(([^)]+)\)", readme)
        assert all(link.startswith("https://") for link in links), (package, links)
