"""Coverage-guided fuzzing of the HTTP/1 path: bytes in through `HttpProtocol.data_received`, answers checked.

Each input is one connection of `fuzz_apps.http_app` (see `fuzz_driver` for how an input is read and what
is checked for every input). What the server wrote must then follow `fuzz_checks.http_violations`: valid
HTTP/1.1 responses, at most one per request, nothing after ``Connection: close``. A longer run than CI's
(CONTRIBUTING.md, "Fuzzing"), from this directory::

    python fuzz_http1.py -max_total_time=600 -dict=http1.dict /tmp/http1-new corpus/http1 crashes/http1
"""

from __future__ import annotations

import asyncio
import sys

import atheris

with atheris.instrument_imports(include=["necktie_server", "pynecktie"]):
    import fuzz_driver
    from fuzz_apps import http_app
    from necktie_server.settings import ServerSettings

from fuzz_checks import http_violations

APP = http_app()
APP.finalize()
SETTINGS = ServerSettings.from_config(APP.config)
LOOP: asyncio.AbstractEventLoop | None = None


def test_one_input(data: bytes) -> None:
    """One connection of the fuzz app on *data* (control bytes, then what the client sends)."""
    global LOOP
    if LOOP is None:
        fuzz_driver.quiet_logs()
        LOOP = fuzz_driver.make_loop()
    session = fuzz_driver.Session(APP, SETTINGS, fuzz_driver.Plan.decode(data))
    fuzz_driver.run_input(LOOP, session)
    transport = session.transport
    for text in http_violations(bytes(session.delivered), bytes(transport.data),
                                transport.closed or transport.eof_written, SETTINGS.max_line_size):
        session.violation(text)
    fuzz_driver.report(session, data)


def main() -> None:
    """atheris' command line (libFuzzer's flags and corpus directories)."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
