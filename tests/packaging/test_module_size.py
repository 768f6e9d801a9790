"""No source module over 400 lines: a module that outgrows it is split along its concepts."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 400


def test_no_source_module_is_over_the_limit():
    packages = ROOT / "packages"
    counts = {
        path.relative_to(packages).as_posix(): len(path.read_text().splitlines())
        for path in sorted(packages.glob("*/src/**/*.py"))
    }
    assert len(counts) > 50  # the glob found the three packages' sources
    over = {name: n for name, n in counts.items() if n > LIMIT}
    assert over == {}, f"over {LIMIT} lines, split by concept: {over}"
