"""Fixtures for necktie-testing's own tests."""

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def tls_contexts():
    """A server context with a certificate for 127.0.0.1 from a throw-away CA, and a client trusting it."""
    import ssl

    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx
