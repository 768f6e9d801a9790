"""The one exception the serving code raises for a problem the user fixes, not a bug to debug."""


class StartupError(Exception):
    """The server cannot start (module not importable, port in use, bad setting...): one line says why."""
