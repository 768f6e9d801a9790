"""Coverage-guided fuzzing of the WebSocket frame path: a valid upgrade, then whatever frames the input holds.

Each input opens a connection of `fuzz_apps.ws_app` with a fixed, valid handshake (to the route, and with
or without permessage-deflate, as the plan's choice byte says), so the payload goes straight to
`necktie_server.websocket`. Beyond `fuzz_driver`'s checks, what the server wrote must follow
`fuzz_checks.ws_violations`: a 101, then frames a strict client accepts, closed with a code that may be
sent. A longer run than CI's (CONTRIBUTING.md, "Fuzzing"), from this directory::

    python fuzz_ws.py -max_total_time=600 /tmp/ws-new corpus/ws crashes/ws
"""

from __future__ import annotations

import asyncio
import sys

import atheris

with atheris.instrument_imports(include=["necktie_server", "pynecktie", "websockets"]):
    import fuzz_driver
    from fuzz_apps import WS_ROUTES, ws_app
    from necktie_server.settings import ServerSettings

from fuzz_checks import ws_client, ws_handshake, ws_violations

APP = ws_app()
APP.finalize()
SETTINGS = ServerSettings.from_config(APP.config)
LOOP: asyncio.AbstractEventLoop | None = None


def test_one_input(data: bytes) -> None:
    """One upgraded connection of the fuzz app, then the input's payload as frames."""
    global LOOP
    if LOOP is None:
        fuzz_driver.quiet_logs()
        LOOP = fuzz_driver.make_loop()
    plan = fuzz_driver.Plan.decode(data)
    client = ws_client(WS_ROUTES[plan.choice % 4], deflate=bool(plan.choice & 4))
    request = ws_handshake(client)

    async def upgrade(session: fuzz_driver.Session) -> None:
        session.send(request)
        await session.settle()

    session = fuzz_driver.Session(APP, SETTINGS, plan)
    fuzz_driver.run_input(LOOP, session, upgrade)
    transport = session.transport
    ended = transport.closed or transport.eof_written
    abrupt_ok = session.client_ended or transport.aborted  # the client left, or was reset for not reading
    for text in ws_violations(client, bytes(transport.data), ended, abrupt_ok):
        session.violation(text)
    fuzz_driver.report(session, data)


def main() -> None:
    """atheris' command line (libFuzzer's flags and corpus directories)."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
