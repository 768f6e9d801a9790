"""Listening sockets: TCP (optionally one per worker with SO_REUSEPORT) or a unix socket path."""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import stat
import struct
import sys

from .errors import StartupError

SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)  # Linux's value; Python names it since 3.13
# A classic BPF socket filter (struct sock_filter: code, jt, jf, k): load the TCP header's flags byte (a
# socket filter sees the segment from its TCP header on), drop the segment when SYN is set, else keep it.
_DROP_SYN = struct.pack(
    "=HBBI HBBI HBBI HBBI",
    *(0x30, 0, 0, 13),  # ldb [13]
    *(0x45, 0, 1, 0x02),  # jset #SYN: next, else skip one
    *(0x06, 0, 0, 0),  # ret #0 (drop)
    *(0x06, 0, 0, 0xFFFFFFFF),  # ret #-1 (keep all of it)
)


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


def refuse_new_connections(sock: socket.socket) -> bool:
    """Make the TCP listening socket *sock* drop new connection requests (SYNs) while the handshakes under
    way still complete, so its accept queue can be emptied before it is closed (`necktie_server.drain`).

    Linux only (a socket filter); False where it cannot be done. Only for a socket no other process
    listens on: the filter belongs to the socket, not to this process's descriptor.
    """
    if not sys.platform.startswith("linux"):  # pragma: no cover - the server's platform is Linux
        return False
    program = ctypes.create_string_buffer(_DROP_SYN, len(_DROP_SYN))
    fprog = struct.pack("@HP", len(_DROP_SYN) // 8, ctypes.addressof(program))  # struct sock_fprog
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    except OSError:
        return False
    return True


def accept_queue_length(sock: socket.socket) -> int:
    """Connections the kernel has completed on the listening socket *sock* that are not accepted yet
    (Linux reports it as ``tcpi_unacked`` of a listener's ``TCP_INFO``); 0 where it cannot tell."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return 0
    return struct.unpack_from("=I", info, 24)[0] if len(info) >= 28 else 0
