"""Serve one example app in this process (for tests that watch the server's memory from outside).

Usage: python serve_example.py NAME — prints the port on a line of its own, serves until stdin closes.
"""

from __future__ import annotations

import sys

from conftest import load_example

from necktie_testing import LiveServer


def main() -> None:
    app = load_example(sys.argv[1]).app
    with LiveServer(app, access_log=False) as server:
        print(server.port, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
