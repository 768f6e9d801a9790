"""The ``necktie`` command: ``necktie path.to.module:app [--host H] [--port P] [--workers N] ...``.

Problems the user must fix (a module that does not import, a missing attribute, a port in use, a bad
setting) end the command with one line on stderr and exit status 1, not a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from typing import Any

from pydantic import ValidationError
from pynecktie.config import describe_error

from .__about__ import __version__
from .errors import StartupError

CLIError = StartupError  # the name this module used first


def load_app(target: str, factory: bool = False, debug: bool = False) -> Any:
    """Import ``module:attribute`` (calling it when *factory*) and return the Necktie app."""
    from pynecktie import Necktie

    module_name, _, attr = target.partition(":")
    attr = attr or "app"
    if not module_name:
        raise StartupError(f"cannot load {target!r}: give the app as path.to.module:app")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module = _guarded(
        lambda: importlib.import_module(module_name), f"cannot import module {module_name!r}", debug
    )
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise StartupError(f"module {module_name!r} has no attribute {attr!r}") from None
    if factory:
        if not callable(obj):
            raise StartupError(f"{module_name}:{attr} is not callable, so it cannot be a --factory")
        obj = _guarded(obj, f"the factory {module_name}:{attr} failed", debug)
    if not isinstance(obj, Necktie):
        hint = " (is it a factory? add --factory)" if callable(obj) and not factory else ""
        raise StartupError(f"{module_name}:{attr} is not a Necktie app but {type(obj).__name__}{hint}")
    return obj


def _guarded(call: Any, what: str, debug: bool) -> Any:
    """Run *call*, turning what it raises into one line (with the traceback too in debug mode)."""
    try:
        return call()
    except ValidationError as exc:
        raise StartupError(f"invalid setting {describe_error(exc)}") from None
    except SyntaxError as exc:
        raise StartupError(f"{what}: {exc.msg} ({exc.filename}, line {exc.lineno})") from None
    except ImportError as exc:
        raise StartupError(f"{what}: {exc}") from None
    except StartupError:
        raise
    except Exception as exc:
        if debug:
            traceback.print_exc()
        raise StartupError(f"{what}: {type(exc).__name__}: {exc}") from None


def build_parser() -> argparse.ArgumentParser:
    """The command-line options (the same as ``app.run()``'s keyword arguments)."""
    parser = argparse.ArgumentParser(
        prog="necktie",
        description="Serve a Necktie app.",
        epilog=(
            "Settings not given here come from app.config (NECKTIE_<NAME> environment variables). "
            "Signals: SIGTERM drains (readiness 503 for DRAIN_DELAY seconds, still serving) and stops "
            "gracefully; SIGINT stops gracefully at once; SIGHUP to a server with --workers N replaces "
            "the workers one by one (a rolling restart: each new worker accepts before the old one drains)."
        ),
    )
    parser.add_argument(
        "target",
        nargs="?",
        metavar="MODULE:APP",
        help="the app to serve, as path.to.module:app (the attribute defaults to 'app')",
    )
    parser.add_argument(
        "--factory", action="store_true", help="MODULE:APP is a function that returns the app"
    )
    parser.add_argument("--simple", metavar="DIR", help="serve the files of DIR instead of an app")
    listen = parser.add_argument_group("where to listen")
    listen.add_argument("-H", "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    listen.add_argument(
        "-p", "--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)"
    )
    listen.add_argument("-u", "--unix", metavar="PATH", help="listen on a unix socket at PATH instead")
    listen.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this PEM certificate (chain)")
    listen.add_argument("--tls-key", metavar="FILE", help="the private key of --tls-cert")
    listen.add_argument(
        "--http2",
        action="store_true",
        default=None,
        help="serve HTTP/2 too: over TLS by ALPN, in cleartext by prior knowledge (necktie-server[http2])",
    )
    procs = parser.add_argument_group("processes")
    procs.add_argument(
        "-w",
        "--workers",
        type=int,
        metavar="N",
        help="worker processes (default 1); SIGHUP replaces them one by one (rolling restart)",
    )
    procs.add_argument("--fast", action="store_true", help="one worker per CPU core")
    procs.add_argument(
        "--reload", action="store_true", help="restart when a .py file changes (development; turns debug on)"
    )
    procs.add_argument(
        "--reload-dir",
        action="append",
        dest="reload_dirs",
        metavar="DIR",
        help="directory to watch for --reload (repeatable; default the current one)",
    )
    misc = parser.add_argument_group("behaviour")
    misc.add_argument("--debug", action="store_true", default=None, help="debug mode: detailed error pages")
    misc.add_argument(
        "--access-log",
        dest="access_log",
        action="store_true",
        default=None,
        help="log every request (default: on with one worker, off with several)",
    )
    misc.add_argument("--no-access-log", dest="access_log", action="store_false", help="no access log")
    parser.add_argument("-V", "--version", action="version", version=f"necktie {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``necktie`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if bool(args.target) == bool(args.simple):
        parser.print_usage(sys.stderr)
        print("necktie: error: give the app to serve as path.to.module:app, or --simple DIR", file=sys.stderr)
        return 2
    if args.reload_dirs and not args.reload:
        print("necktie: error: --reload-dir needs --reload", file=sys.stderr)
        return 2
    try:
        if args.simple:
            from .simple import simple_app

            app = simple_app(args.simple)
        else:
            app = load_app(args.target, args.factory, debug=bool(args.debug))
        from .server import serve

        command = [sys.executable, "-m", "necktie_server", *(sys.argv[1:] if argv is None else argv)]
        serve(
            app,
            host=args.host,
            port=args.port,
            unix=args.unix,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            http2=args.http2,
            workers=args.workers,
            fast=args.fast,
            access_log=args.access_log,
            debug=args.debug,
            reload=args.reload,
            reload_dirs=args.reload_dirs,
            command=command,
        )
    except StartupError as exc:
        print(f"necktie: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # a Ctrl-C during start-up, before the signal handlers are in place
        return 130
    return 0
