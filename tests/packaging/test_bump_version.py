"""scripts/bump-version: the repository's versions and sibling pins agree, and one command moves them all."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bump-version"
FILES = [
    "packages/necktie-core/src/pynecktie/__about__.py",
    "packages/necktie-server/src/necktie_server/__about__.py",
    "packages/necktie-testing/src/necktie_testing/__about__.py",
    "packages/necktie-core/pyproject.toml",
    "packages/necktie-server/pyproject.toml",
    "packages/necktie-testing/pyproject.toml",
]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def copy_of_the_packages(tmp_path: Path) -> Path:
    for rel in FILES:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    return tmp_path


def test_the_repository_versions_and_pins_agree():
    result = run("--check")
    assert result.returncode == 0, result.stderr
    import pynecktie
    assert result.stdout.strip().endswith(pynecktie.__version__)


def test_bump_sets_every_version_and_pin(tmp_path):
    root = copy_of_the_packages(tmp_path)
    result = run("--root", str(root), "0.2.0rc1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("updated ") == 5  # three __about__.py, two pyproject.toml (core pins nothing)
    for rel in FILES[:3]:
        assert '__version__ = "0.2.0rc1"' in (root / rel).read_text()
    assert '"necktie-core==0.2.0rc1"' in (root / FILES[4]).read_text()
    testing = (root / FILES[5]).read_text()
    assert '"necktie-core==0.2.0rc1"' in testing and '"necktie-server==0.2.0rc1"' in testing
    assert (root / FILES[3]).read_text() == (ROOT / FILES[3]).read_text()
    assert run("--root", str(root), "--check").returncode == 0


def test_check_names_what_disagrees(tmp_path):
    root = copy_of_the_packages(tmp_path)
    pyproject = root / "packages/necktie-testing/pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"necktie-server==', '"necktie-server==9.9.9+'))
    result = run("--root", str(root), "--check")
    assert result.returncode == 1
    assert "necktie-server pin (packages/necktie-testing/pyproject.toml): 9.9.9+" in result.stderr


def test_a_malformed_version_changes_nothing(tmp_path):
    root = copy_of_the_packages(tmp_path)
    result = run("--root", str(root), "v2")
    assert result.returncode != 0 and "not a version" in result.stderr
    assert all((root / rel).read_text() == (ROOT / rel).read_text() for rel in FILES)
