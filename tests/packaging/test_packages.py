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


# What CONTRIBUTING.md says core may do with the file system, and where: (module, function) pairs.
# Serving files (files.py, static.py): these run in a worker thread, never on the event loop
# (tests/static/test_static_off_loop.py checks that at run time).
FILE_ACCESS_OFF_LOOP = {
    ("files.py", "open_file"), ("files.py", "open_response"), ("files.py", "read_chunks"),
    ("static.py", "_resolve"), ("static.py", "StaticFiles._answer"), ("static.py", "StaticFiles._respond"),
    ("static.py", "_listing"),
}
# Set-up, before serving: app.static() checks its directory; update_config(path) runs a settings file.
FILE_ACCESS_AT_SETUP = {("static.py", "StaticFiles.__init__"), ("config.py", "Config.update_config")}
FILE_APIS = {
    "open", "io.open", "io.FileIO", "os.open", "os.read", "os.pread", "os.stat", "os.lstat", "os.fstat",
    "os.scandir", "os.listdir", "os.walk", "os.readlink", "os.access", "os.sendfile", "os.path.exists",
    "os.path.lexists", "os.path.isfile", "os.path.isdir", "os.path.islink", "os.path.realpath",
    "os.path.getsize", "os.path.getmtime", "runpy.run_path", "mimetypes.init", "mimetypes.read_mime_types",
}
FILE_METHODS = {"read_text", "read_bytes", "write_text", "write_bytes", "iterdir", "glob", "rglob"}
FILE_MODULES = {"shutil", "tempfile", "glob", "fileinput", "aiofiles"}


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _file_access(path: Path) -> set[tuple[str, str]]:
    """(module, enclosing function) of every use of a file-system API in *path*."""
    found: set[tuple[str, str]] = set()

    def visit(node: ast.AST, scope: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = scope
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = f"{scope}.{child.name}" if scope else child.name
            name = _dotted(child) if isinstance(child, (ast.Name, ast.Attribute)) else ""
            uses = name in FILE_APIS and not (isinstance(child, ast.Name) and name != "open")
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute):
                uses = uses or child.func.attr in FILE_METHODS
            if isinstance(child, ast.Import):
                uses = any(a.name.split(".")[0] in FILE_MODULES for a in child.names)
            if isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                uses = child.module.split(".")[0] in FILE_MODULES or any(
                    f"{child.module}.{a.name}" in FILE_APIS for a in child.names)
            if uses:
                found.add((path.name, scope or "<module>"))
            visit(child, inner)

    visit(ast.parse(path.read_text()), "")
    return found


def test_core_touches_the_file_system_only_where_contributing_says():
    """No module or function of core beyond the named ones uses a file-system API; each named one does."""
    found = set().union(*(_file_access(path) for path in CORE_SRC.rglob("*.py")))
    assert found == FILE_ACCESS_OFF_LOOP | FILE_ACCESS_AT_SETUP


def test_the_contributing_guide_names_what_core_may_touch():
    layout = (ROOT / "CONTRIBUTING.md").read_text()
    row = next(line for line in layout.splitlines() if line.startswith("| `packages/necktie-core` |"))
    for name in sorted(FORBIDDEN - {"necktie_server", "necktie_testing"}):
        assert f"`{name}`" in row, name
    for module in {module for module, _ in FILE_ACCESS_OFF_LOOP | FILE_ACCESS_AT_SETUP}:
        assert f"`{module}`" in row, module
    assert "worker thread" in row and "event loop" in row


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
        # The OpenAPI docs page's Swagger UI files are an extra: necktie-core[docs].
        assert "openapi-ui-bundles>=0.3.0; extra == 'docs'" in requires, requires
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
    with subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"}) as proc:  # (closes the pipes)
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
