"""The ``necktie`` command: ``necktie path.to.module:app [--host H] [--port P] ...``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

from .__about__ import __version__


class CLIError(Exception):
    """A problem worth one line to the user, not a traceback."""


def load_app(target: str, factory: bool = False) -> Any:
    """Import ``module:attribute`` (calling it when *factory*) and return the app."""
    module_name, _, attr = target.partition(":")
    attr = attr or "app"
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CLIError(f"cannot import module {module_name!r}: {exc}") from None
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise CLIError(f"module {module_name!r} has no attribute {attr!r}") from None
    return obj() if factory else obj


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    parser = argparse.ArgumentParser(prog="necktie", description="Serve a Necktie app.")
    parser.add_argument("target", nargs="?", help="the app, as path.to.module:app")
    parser.add_argument("--factory", action="store_true", help="TARGET is a function returning the app")
    parser.add_argument("--host", "-H", default="127.0.0.1")
    parser.add_argument("--port", "-p", type=int, default=8000)
    parser.add_argument("--unix", default=None, help="listen on a unix socket at this path")
    parser.add_argument("--debug", action="store_true")
    parser.add_argument("--access-log", dest="access_log", action="store_true", default=None)
    parser.add_argument("--no-access-log", dest="access_log", action="store_false")
    parser.add_argument("--version", action="version", version=f"necktie {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``necktie`` command."""
    args = build_parser().parse_args(argv)
    if not args.target:
        build_parser().print_usage(sys.stderr)
        print("necktie: error: give the app to serve, as path.to.module:app", file=sys.stderr)
        return 2
    try:
        app = load_app(args.target, args.factory)
        from .server import serve

        serve(app, host=args.host, port=args.port, unix=args.unix, access_log=args.access_log,
              debug=args.debug or None)
    except CLIError as exc:
        print(f"necktie: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"necktie: error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
