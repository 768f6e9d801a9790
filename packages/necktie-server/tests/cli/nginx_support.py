"""A real nginx for the reverse-proxy tests: found (or installed with apt-get as root), configured in a
temporary directory with a site taken from docs/deployment.md, and run as a child process.

nginx comes from Debian's ``nginx`` package (``scripts/services`` installs it). It runs as this user's
single process (``master_process off``) with its config, pid and logs in the temporary directory,
listening on loopback only.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

DEPLOYMENT_DOC = Path(__file__).resolve().parents[4] / "docs" / "deployment.md"


def documented_site(marker: str) -> str:
    """The first ```nginx block of docs/deployment.md that contains *marker*."""
    for block in re.findall(r"```nginx\n(.*?)```", DEPLOYMENT_DOC.read_text(), flags=re.S):
        if marker in block:
            return block
    raise AssertionError(f"docs/deployment.md shows no nginx configuration with {marker!r}")


def _find_nginx() -> str | None:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def install_nginx() -> str:
    """The nginx binary; installed with apt-get when missing and this is root, else the test is skipped."""
    nginx = _find_nginx()
    if nginx:
        return nginx
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("nginx is not installed and cannot be (needs root and apt-get): apt-get install nginx")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "nginx"]
    if subprocess.run(install, env=env, capture_output=True, timeout=600).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
        result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            pytest.skip(f"nginx could not be installed with apt-get: {result.stderr.strip()[-300:]}")
    nginx = _find_nginx()
    if nginx is None:
        pytest.skip("apt-get installed nginx but no nginx binary was found")
    return nginx


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now on *host*."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def ipv6_loopback() -> bool:
    """True when ::1 can be bound here."""
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@contextlib.contextmanager
def running_nginx(nginx: str, prefix: Path, site: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Run *nginx* with *site* (a ``server``/``upstream`` configuration) until the block ends; returns once
    127.0.0.1:*port* accepts connections."""
    (prefix / "nginx.conf").write_text(textwrap.dedent(f"""\
        daemon off;
        master_process off;
        worker_processes 1;
        pid {prefix}/nginx.pid;
        error_log {prefix}/error.log info;
        events {{ worker_connections 256; }}
        http {{
          access_log off;
          client_body_temp_path {prefix}/client_body;
          proxy_temp_path {prefix}/proxy;
          fastcgi_temp_path {prefix}/fastcgi;
          uwsgi_temp_path {prefix}/uwsgi;
          scgi_temp_path {prefix}/scgi;
          include {prefix}/site.conf;
        }}
    """))
    (prefix / "site.conf").write_text(site)
    process = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e",
                                str(prefix / "error.log")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"nginx exited: {process.stdout.read().decode()}"  # type: ignore[union-attr]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start listening"
                time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait(30)
        process.stdout.close()  # type: ignore[union-attr]
