"""Necktie behind a real nginx reverse proxy on loopback, request and response buffering off.

The site configuration is the one docs/deployment.md shows, taken from the page; nginx runs as
`nginx_support` says, listening on 127.0.0.1 and ::1 only.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import h11
import nginx_support
import pytest
from necktie_testing import LiveServer
from pynecktie import Necktie
from pynecktie.response import stream, text

CHUNK = 4096


def documented_site(upstream_port: int, listen: str) -> str:
    """The nginx configuration of docs/deployment.md, pointed at *upstream_port* and listening on *listen*."""
    site = nginx_support.documented_site("server 127.0.0.1:8000;")
    assert "listen 80;" in site
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};")
    return site.replace("listen 80;", listen)


def make_app() -> Necktie:
    app = Necktie("proxied")
    app.ctx.gates = {}

    @app.post("/echo", stream=True)
    async def echo(request):
        async def body(response):
            total = 0
            while (chunk := await request.stream.get()) is not None:
                total += len(chunk)
                await response.write(b"have %d\n" % total)
            await response.write(b"done\n")
        return stream(body)

    @app.get("/ticks/<name>")
    async def ticks(request, name: str):
        import asyncio

        gate = app.ctx.gates.setdefault(name, asyncio.Queue())

        async def body(response):
            for i in range(3):
                await response.write(b"tick %d\n" % i)
                await gate.get()
        return stream(body)

    @app.get("/ip")
    async def ip(request):
        return text(f"{request.ip} {request.peer_ip} {request.remote_addr or '-'} {request.client_ip}")

    return app


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, int]]]:
    nginx = nginx_support.install_nginx()
    app = make_app()
    server = LiveServer(app).start()
    prefix = tmp_path_factory.mktemp("nginx")
    ports = {"127.0.0.1": nginx_support.free_port("127.0.0.1")}
    listen = f"listen 127.0.0.1:{ports['127.0.0.1']};"
    if nginx_support.ipv6_loopback():
        ports["::1"] = nginx_support.free_port("::1")
        listen += f" listen [::1]:{ports['::1']};"
    try:
        site = documented_site(server.port, listen)
        with nginx_support.running_nginx(nginx, prefix, site, ports["127.0.0.1"]):
            yield server, ports
    finally:
        server.stop()


class Client:
    """An HTTP/1.1 client on a raw socket, parsed with h11, that may read while it still sends."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=30)
        self.conn = h11.Connection(h11.CLIENT)
        self.body = b""

    def send(self, *events: h11.Event) -> None:
        for event in events:
            data = self.conn.send(event)
            if data:
                self.sock.sendall(data)

    def next_event(self) -> h11.Event:
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                data = self.sock.recv(65536)
                assert data or self.conn.their_state is not h11.SEND_BODY, "connection closed mid-body"
                self.conn.receive_data(data)
                continue
            return event

    def response(self) -> h11.Response:
        event = self.next_event()
        assert isinstance(event, h11.Response), event
        return event

    def read_until(self, marker: bytes) -> bytes:
        """Body bytes until *marker* has arrived (fails if the body ends first)."""
        while marker not in self.body:
            event = self.next_event()
            assert isinstance(event, h11.Data), f"{event!r} before {marker!r}; have {self.body!r}"
            self.body += event.data
        return self.body

    def close(self) -> None:
        self.sock.close()


def test_streamed_upload_and_download_pass_through_chunk_by_chunk(proxied) -> None:
    _, ports = proxied
    client = Client("127.0.0.1", ports["127.0.0.1"])
    client.send(h11.Request(method="POST", target="/echo",
                            headers=[("host", "proxy.test"), ("transfer-encoding", "chunked")]))
    # Each chunk is sent only after the app has reported the one before through the response: so
    # nginx forwarded the upload without waiting for its end, and the download without buffering it.
    client.send(h11.Data(data=b"a" * CHUNK))
    assert client.response().status_code == 200
    for n in range(1, 4):
        client.read_until(b"have %d\n" % (n * CHUNK))
        client.send(h11.Data(data=b"b" * CHUNK))
    client.read_until(b"have %d\n" % (4 * CHUNK))
    assert b"done" not in client.body  # the upload has not ended, so neither has the response
    client.send(h11.EndOfMessage())
    client.read_until(b"done\n")
    assert isinstance(client.next_event(), h11.EndOfMessage)
    client.close()


def test_streamed_download_is_not_buffered(proxied) -> None:
    server, ports = proxied
    client = Client("127.0.0.1", ports["127.0.0.1"])
    client.send(h11.Request(method="GET", target="/ticks/one", headers=[("host", "proxy.test")]),
                h11.EndOfMessage())
    assert client.response().status_code == 200
    for i in range(3):
        client.read_until(b"tick %d\n" % i)
        assert b"tick %d" % (i + 1) not in client.body  # the app has not written it yet

        async def release() -> None:
            await server.app.ctx.gates["one"].put(None)

        server.call(release)
    assert isinstance(client.next_event(), h11.EndOfMessage)
    assert client.body == b"tick 0\ntick 1\ntick 2\n"
    client.close()


def _ip_through_proxy(ports: dict[str, int], forged: str | None = None) -> str:
    client = Client("::1", ports["::1"])
    headers = [("host", "proxy.test")] + ([("x-forwarded-for", forged)] if forged else [])
    client.send(h11.Request(method="GET", target="/ip", headers=headers), h11.EndOfMessage())
    assert client.response().status_code == 200
    while not isinstance(event := client.next_event(), h11.EndOfMessage):
        client.body += event.data  # type: ignore[union-attr]
    client.close()
    return client.body.decode()


def test_client_address_comes_from_x_forwarded_for_only_when_proxies_are_trusted(proxied) -> None:
    """``request.ip`` is the client nginx reports only when proxies are trusted; ``peer_ip`` is always
    nginx."""
    server, ports = proxied
    if "::1" not in ports:
        pytest.skip("no IPv6 loopback: the client and nginx need different addresses to tell them apart")
    config = server.app.config
    # The client reaches nginx on ::1; nginx reaches Necktie from 127.0.0.1.
    try:
        config.PROXIES_COUNT = 0
        assert _ip_through_proxy(ports) == "127.0.0.1 127.0.0.1 - 127.0.0.1"
        assert _ip_through_proxy(ports, forged="203.0.113.9") == "127.0.0.1 127.0.0.1 - 127.0.0.1"
        config.PROXIES_COUNT = 1
        assert _ip_through_proxy(ports) == "::1 127.0.0.1 ::1 ::1"
        # What the client wrote itself comes before nginx's entry and is not trusted.
        assert _ip_through_proxy(ports, forged="203.0.113.9") == "::1 127.0.0.1 ::1 ::1"
    finally:
        config.PROXIES_COUNT = 0
