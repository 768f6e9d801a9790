"""Mistakes end the command with one line on stderr and a non-zero status, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from cli_support import APP_SOURCE, write_module
from necktie_server import __version__

# name -> (arguments, extra environment, exit status, the message's expected words)
CASES: dict[str, tuple[list[str], dict[str, str], int, str]] = {
    "no module": (["no_such_module:app"], {}, 1,
                  "necktie: error: cannot import module 'no_such_module': No module named 'no_such_module'"),
    "no attribute": (["demo_app:nothing"], {}, 1,
                     "necktie: error: module 'demo_app' has no attribute 'nothing'"),
    "not an app": (["demo_app:create_app"], {}, 1,
                   "necktie: error: demo_app:create_app is not a Necktie app but function "
                   "(is it a factory? add --factory)"),
    "syntax error": (["broken:app"], {}, 1, "necktie: error: cannot import module 'broken': invalid syntax"),
    "error at import": (["raising:app"], {}, 1,
                        "necktie: error: cannot import module 'raising': RuntimeError: no database"),
    "bad env setting": (["demo_app:app"], {"NECKTIE_REQUEST_TIMEOUT": "-1"}, 1,
                        "necktie: error: invalid setting REQUEST_TIMEOUT: Input should be greater than or "
                        "equal to 0 (got '-1')"),
    "bad workers": (["demo_app:app", "--workers", "0"], {}, 1,
                    "necktie: error: invalid setting WORKERS: Input should be greater than 0 (got 0)"),
    "bad port": (["demo_app:app", "--port", "70000"], {}, 1,
                 "necktie: error: invalid port 70000: give a number from 0 to 65535"),
    "port in use": (["demo_app:app", "--port", "{busy}"], {}, 1,
                    "necktie: error: cannot listen on http://127.0.0.1:{busy}: Address already in use"),
    "port in use, workers": (["demo_app:app", "--port", "{busy}", "-w", "2"], {}, 1,
                             "necktie: error: cannot listen on http://127.0.0.1:{busy}: Address already in "
                             "use"),
    "missing certificate": (["demo_app:app", "--tls-cert", "nowhere.pem", "--tls-key", "nowhere.key"], {}, 1,
                            "necktie: error: TLS file not found"),
    "simple not a dir": (["--simple", "no_such_dir"], {}, 1,
                         "necktie: error: --simple: 'no_such_dir' is not a directory"),
    "no target": ([], {}, 2, "necktie: error: give the app to serve as path.to.module:app, or --simple DIR"),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[int, str, str]]]:
    """Run every case at once (each is a short-lived interpreter) and collect status, stdout, stderr."""

    cwd = tmp_path_factory.mktemp("errors")
    write_module(cwd, "demo_app", APP_SOURCE)
    write_module(cwd, "broken", "app = = 1\n")
    write_module(cwd, "raising", "raise RuntimeError('no database')\n")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = str(busy.getsockname()[1])
    processes = {}
    for name, (args, env, _, _) in CASES.items():
        argv = [arg.replace("{busy}", port) for arg in args]
        processes[name] = subprocess.Popen(
            [sys.executable, "-m", "necktie_server", *argv], cwd=cwd, env={**os.environ, **env},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = {}
    for name, process in processes.items():
        out, err = process.communicate(timeout=120)
        results[name] = (process.returncode, out, err.replace(port, "{busy}"))
    busy.close()
    yield results


@pytest.mark.parametrize("case", list(CASES))
def test_one_line_and_a_non_zero_status(outcomes, case: str) -> None:
    status, out, err = outcomes[case]
    expected_status, message = CASES[case][2], CASES[case][3]
    assert status == expected_status, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("necktie: ")]
    assert len(lines) == 1, err
    assert lines[0].startswith(message), err
    if expected_status != 2:  # a usage error also prints the usage; nothing else prints more than the line
        assert err.strip() == lines[0]


def test_version_and_help() -> None:
    version = subprocess.run([sys.executable, "-m", "necktie_server", "--version"], capture_output=True,
                             text=True, timeout=60)
    assert (version.returncode, version.stdout.strip()) == (0, f"necktie {__version__}")
    usage = subprocess.run([sys.executable, "-m", "necktie_server", "--help"], capture_output=True, text=True,
                           timeout=60)
    assert usage.returncode == 0
    for option in ("--factory", "--simple", "--unix", "--workers", "--fast", "--tls-cert", "--tls-key",
                    "--access-log", "--no-access-log", "--debug", "--reload", "--reload-dir"):
        assert option in usage.stdout
