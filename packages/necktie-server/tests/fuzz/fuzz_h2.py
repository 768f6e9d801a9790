"""Coverage-guided fuzzing of the HTTP/2 path: the preface, then whatever frames the input holds.

Each input is one connection of `fuzz_apps.h2_app` (`http_app`'s routes with HTTP/2 on in cleartext, so the
preface hands the connection from `HttpProtocol` to the HTTP/2 engine): the target sends the preface as a
read of its own, then `fuzz_driver` delivers the input's frames as it delivers HTTP/1 bytes. Beyond the
driver's checks, what the server wrote must follow `fuzz_checks.h2_violations`: its SETTINGS first, whole
frames whose header blocks decode, responses only on streams the client opened, nothing on a stream after
it ended, no more DATA than the client's windows allowed, nothing after a GOAWAY with an error. A longer
run than CI's (CONTRIBUTING.md, "Fuzzing"), from this directory::

    python fuzz_h2.py -max_total_time=600 /tmp/h2-new corpus/h2 crashes/h2
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import atheris

with atheris.instrument_imports(include=["necktie_server", "pynecktie", "h2", "hpack"]):
    import fuzz_driver

    # The protocol imports the HTTP/2 engine on first use: here, before any input's memory is traced.
    import necktie_server.h2_connection  # noqa: F401
    from fuzz_apps import h2_app
    from necktie_server.settings import ServerSettings

from fuzz_checks import h2_violations
from nt_h2frames import PREFACE

APP = h2_app()
APP.finalize()
SETTINGS = ServerSettings.from_config(APP.config)
LOOP: asyncio.AbstractEventLoop | None = None


def send_preface(session: fuzz_driver.Session) -> Any:
    """The connection preface, a read of its own before the input's (which are frames only)."""

    async def send() -> None:
        session.send(PREFACE)
        await session.settle()

    return send()


def test_one_input(data: bytes) -> None:
    """One HTTP/2 connection of the fuzz app on *data* (control bytes, then frames)."""
    global LOOP
    if LOOP is None:
        fuzz_driver.quiet_logs()
        LOOP = fuzz_driver.make_loop()
    session = fuzz_driver.Session(APP, SETTINGS, fuzz_driver.Plan.decode(data))
    fuzz_driver.run_input(LOOP, session, send_preface)
    transport = session.transport
    for text in h2_violations(bytes(session.delivered), bytes(transport.data),
                              transport.closed or transport.eof_written):
        session.violation(text)
    fuzz_driver.report(session, data)


def main() -> None:
    """atheris' command line (libFuzzer's flags and corpus directories)."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
