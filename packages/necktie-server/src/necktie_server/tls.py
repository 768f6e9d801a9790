"""HTTPS: an `ssl.SSLContext` from a certificate/key pair, or one the application built itself."""

from __future__ import annotations

import ssl

from .errors import StartupError


def server_context(cert: str, key: str | None = None, password: str | None = None) -> ssl.SSLContext:
    """A server-side context with Python's secure defaults, offering HTTP/1.1 over ALPN.

    *key* may be omitted when *cert* is a PEM file holding both. Unreadable or mismatched files raise
    `StartupError`.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key, password)
    except FileNotFoundError as exc:
        raise StartupError(f"TLS file not found: {exc.filename}") from None
    except (ssl.SSLError, OSError) as exc:
        raise StartupError(f"cannot load the TLS certificate {cert!r} and key {key!r}: {exc}") from None
    context.set_alpn_protocols(["http/1.1"])
    return context


def resolve(ssl_option: ssl.SSLContext | None, cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """The context to serve with: the given one, else one built from *cert*/*key*, else None (plain HTTP)."""
    if ssl_option is not None:
        if not isinstance(ssl_option, ssl.SSLContext):
            raise StartupError(f"ssl must be an ssl.SSLContext (got {type(ssl_option).__name__})")
        if cert or key:
            raise StartupError("give either an SSLContext or a certificate/key pair, not both")
        return ssl_option
    if key and not cert:
        raise StartupError("a TLS key was given without its certificate (--tls-cert)")
    return server_context(cert, key) if cert else None


def offer_http2(context: ssl.SSLContext | None) -> None:
    """Check that HTTP/2 can be served (the ``http2`` extra is installed) and offer it over ALPN, before
    HTTP/1.1, on *context* (cleartext connections need no offer: clients send the preface)."""
    try:
        import h2  # noqa: F401
    except ImportError:
        raise StartupError(
            "HTTP2 is on but the h2 package is missing: pip install 'necktie-server[http2]'"
        ) from None
    if context is not None:
        context.set_alpn_protocols(["h2", "http/1.1"])
