"""Listening sockets: TCP (optionally one per worker with SO_REUSEPORT) or a unix socket path."""

from __future__ import annotations

import contextlib
import os
import socket
import stat

from .errors import StartupError


def reuse_port_available() -> bool:
    """True where the OS lets several sockets listen on one port and balances connections among them."""
    if not hasattr(socket, "SO_REUSEPORT"):
        return False
    with socket.socket() as probe:
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        except OSError:
            return False
    return True


def describe(host: str | None, port: int, unix: str | None, tls: bool = False) -> str:
    """The address as people write it: ``http://127.0.0.1:8000``, ``https://[::1]:8443``, ``unix:/path``."""
    if unix:
        return f"unix:{unix}"
    scheme = "https" if tls else "http"
    shown = f"[{host}]" if host and ":" in host else host
    return f"{scheme}://{shown}:{port}"


def bind_tcp(
    host: str | None, port: int, *, backlog: int, listen: bool = True, reuse_port: bool = False
) -> socket.socket:
    """A socket bound to *host*:*port* (the first address *host* resolves to), listening unless told not to.

    With *reuse_port*, other sockets of this user may bind the same port with SO_REUSEPORT; a bound
    socket that does not listen reserves the port without receiving connections.
    """
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(f"cannot resolve host {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        if listen:
            sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {describe(host, port, None)}: {exc.strerror or exc}") from None
    return sock


def reserve_port(host: str | None, port: int) -> socket.socket:
    """A bound, non-listening SO_REUSEPORT socket that holds *host*:*port* for workers to bind too.

    A plain bind is tried first: another server listening there with SO_REUSEPORT would otherwise be
    joined silently, and the two would share the traffic.
    """
    with bind_tcp(host, port, backlog=0, listen=False) as probe:
        port = probe.getsockname()[1]
    return bind_tcp(host, port, backlog=0, listen=False, reuse_port=True)


def bind_unix(path: str, *, backlog: int) -> socket.socket:
    """A listening unix socket at *path*, replacing a stale socket file nobody listens on."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(os.stat(path).st_mode):
            with socket.socket(socket.AF_UNIX) as probe:
                try:
                    probe.connect(path)
                except OSError:
                    os.unlink(path)
                else:
                    raise StartupError(f"cannot listen on unix:{path}: another server is listening there")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(path)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on unix:{path}: {exc.strerror or exc}") from None
    return sock
