"""necktie-testing ships in step with the core and the server: one version, exact pins (installed metadata;
tests/packaging/test_bump_version.py checks the source files and scripts/bump-version)."""

from __future__ import annotations

from importlib.metadata import requires, version

import necktie_server
import necktie_testing
import pynecktie
from packaging.requirements import Requirement


def test_the_three_versions_match() -> None:
    versions = {pynecktie.__version__, necktie_server.__version__, necktie_testing.__version__}
    assert len(versions) == 1, versions
    assert {version("necktie-core"), version("necktie-server"), version("necktie-testing")} == versions


def test_testing_pins_core_and_server_exactly() -> None:
    pins = {}
    for line in requires("necktie-testing") or []:
        req = Requirement(line)
        pins[req.name] = str(req.specifier)
    assert pins["necktie-core"] == f"=={necktie_testing.__version__}"
    assert pins["necktie-server"] == f"=={necktie_testing.__version__}"


def test_server_pins_core_exactly() -> None:
    reqs = [Requirement(line) for line in requires("necktie-server") or []]
    pins = {req.name: str(req.specifier) for req in reqs}
    assert pins["necktie-core"] == f"=={necktie_server.__version__}"
