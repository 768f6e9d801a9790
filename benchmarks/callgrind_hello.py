"""Instructions per ``GET /hello`` through the real `HttpProtocol`, counted by callgrind.

Usage: python benchmarks/callgrind_hello.py [--small N] [--large N]

The request goes through the server's own protocol on uvloop, over an in-memory transport (no socket, so
no kernel time and no noise from the load generator): one keep-alive connection, one request at a time,
the next sent once the answer was written. Callgrind runs the driver twice, with ``--small`` and
``--large`` requests; the difference of the two totals divided by the difference of the counts is the
cost of one request, without interpreter start-up and imports. The app is ``apps/necktie_app.py`` (1,000
filler routes), access log off; settings come from the environment as usual
(``NECKTIE_METRICS_PATH=/metrics``: /hello with metrics on). Needs valgrind. A number, not a timing: it
moves by well under 1 % between runs, so it can compare two commits.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REQUEST = b"GET /hello HTTP/1.1\r\nHost: localhost:8000\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"


class _Transport(asyncio.Transport):
    """Just what `HttpProtocol` calls, recording each answer's arrival."""

    def __init__(self) -> None:
        super().__init__()
        self.waiter: asyncio.Future[None] | None = None
        self.written = 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def write(self, data: Any) -> None:
        self.written += len(data)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def writelines(self, parts: Any) -> None:
        for part in parts:
            self.write(part)

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _drive(count: int) -> None:
    os.environ.setdefault("BENCH_ROUTES", "1000")
    sys.path.insert(0, str(HERE / "apps"))
    from necktie_app import app
    from necktie_server.metering import meter
    from necktie_server.protocol import HttpProtocol
    from necktie_server.server import ServerState
    from necktie_server.settings import ServerSettings

    loop = asyncio.get_running_loop()
    app.finalize()
    state = ServerState(app, ServerSettings.from_config(app.config), loop)
    meter(state)  # as Server.start does: counts each response when NECKTIE_METRICS_PATH is set
    protocol = HttpProtocol(state)
    transport = _Transport()
    protocol.connection_made(transport)
    for _ in range(count):
        transport.waiter = loop.create_future()
        protocol.data_received(REQUEST)
        await transport.waiter
    await asyncio.sleep(0)
    if transport.written < count * 100:
        raise SystemExit(f"only {transport.written} bytes answered for {count} requests")


def _run(count: int) -> None:
    import uvloop

    uvloop.run(_drive(count))


def instructions(script: str, args: list[str]) -> int:
    """The instructions callgrind counts for one run of ``python SCRIPT ARGS`` (hash seed fixed)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, script, *args],
            check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        match = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
        if match is None:
            raise SystemExit("no instruction total in callgrind's output")
        return int(match.group(1))


def _instructions(count: int) -> int:
    return instructions(__file__, ["--run", str(count)])


def main() -> None:
    """Print the instructions per request (or, with ``--run N``, just drive N requests)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--large", type=int, default=12000)
    args = parser.parse_args()
    if args.run is not None:
        _run(args.run)
        return
    # One run outside valgrind first: it compiles what changed since the last run, so neither counted run
    # pays for that (the first would, and the difference would come out too low).
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run([sys.executable, __file__, "--run", "10"], check=True, env=env)
    small, large = _instructions(args.small), _instructions(args.large)
    per_request = (large - small) / (args.large - args.small)
    print(f"{per_request:,.0f} instructions per /hello ({args.small} and {args.large} requests)")


if __name__ == "__main__":
    main()
