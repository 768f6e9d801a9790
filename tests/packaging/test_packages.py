"""The three distributions: each builds alone, core stays free of I/O, and run() explains a missing server."""

from __future__ import annotations

import ast
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE_SRC = ROOT / "packages" / "necktie-core" / "src" / "pynecktie"
FORBIDDEN = {"socket", "ssl", "selectors", "httptools", "uvloop", "necktie_server", "necktie_testing"}


def test_core_source_imports_no_io_module():
    offenders = []
    for path in CORE_SRC.rglob("*.py"):
        if path.name == "_runner.py":  # the one lazy import of the server
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_importing_all_of_core_loads_no_server_package():
    # (asyncio itself imports socket and ssl, so only third-party I/O and our own siblings are checked here;
    # the source check above covers the rest.)
    not_stdlib = FORBIDDEN - {"socket", "ssl", "selectors"}
    code = (
        "import pkgutil, sys, pynecktie\n"
        "for m in pkgutil.walk_packages(pynecktie.__path__, 'pynecktie.'):\n"
        "    __import__(m.name)\n"
        f"print(sorted(m for m in {sorted(not_stdlib)!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("package", ["necktie-core", "necktie-server", "necktie-testing"])
def test_each_package_builds_a_wheel_on_its_own(package, tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
         str(ROOT / "packages" / package)],
        check=True, timeout=180, capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = zf.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert any(n.endswith("README.md") or "Description" in metadata for n in names)
    requires = [
        line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")
    ]
    import_name = {"necktie-core": "pynecktie"}.get(package, package.replace("-", "_"))
    assert f"{import_name}/py.typed" in names  # PEP 561: type checkers use the package's own hints
    (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read(license_file) == (ROOT / "LICENSE").read_bytes()
    assert "License-Expression: MIT" in metadata
    if package == "necktie-core":
        assert not any(r.startswith(("httptools", "uvloop", "necktie-server")) for r in requires), requires
        assert any(n.startswith("pynecktie/") for n in names)
    else:
        import pynecktie
        assert f"necktie-core=={pynecktie.__version__}" in requires


@pytest.mark.parametrize("package", ["necktie-core", "necktie-server", "necktie-testing"])
def test_each_package_carries_the_repository_license(package):
    # hatch takes license files from the package's own directory only, so each holds a copy.
    assert (ROOT / "packages" / package / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()


def test_run_without_the_server_says_what_to_install(tmp_path):
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'necktie_server':\n"
        "            raise ImportError(\"No module named 'necktie_server'\", name='necktie_server')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from pynecktie import Necktie\n"
        "Necktie('x').run()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "pip install necktie-server" in out.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_app_run_serves_until_a_signal_then_exits_cleanly(sig, tmp_path):
    port = _free_port()
    script = tmp_path / "app.py"
    script.write_text(
        "from pynecktie import Necktie\nfrom pynecktie.response import text\n"
        "app = Necktie('runner')\n"
        "@app.get('/')\nasync def index(request):\n    return text('up')\n"
        f"app.run(host='127.0.0.1', port={port})\n"
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 30
        answer = b""
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    while chunk := sock.recv(65536):
                        answer += chunk
                break
            except ConnectionRefusedError:
                time.sleep(0.1)
        assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"up")
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
