"""The drain (`necktie_server.drain`) at the wire, against a `Server` on this test's loop: keep-alive ends
with ``Connection: close`` while the server still serves, readiness says 503, and closing the listener
loses no connection the kernel had already completed, nor one whose first request is still on its way."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import h11
from necktie_server import Server
from necktie_server.sockets import bind_tcp
from pynecktie import Necktie
from pynecktie.response import text


def make_app() -> Necktie:
    app = Necktie("drain")
    app.config.update_config({"READINESS_PATH": "/readyz", "KEEP_ALIVE_TIMEOUT": 60})

    @app.get("/")
    async def index(request):
        return text("ok")

    return app


class Client:
    """A blocking HTTP/1.1 client on one connection, parsed with h11 (run it off the loop)."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=30)
        self.conn = h11.Connection(h11.CLIENT)

    def send_request(self, target: str = "/") -> None:
        if self.conn.our_state is h11.DONE:
            self.conn.start_next_cycle()
        self.sock.sendall(self.conn.send(h11.Request(method="GET", target=target, headers=[("host", "x")]))
                          + self.conn.send(h11.EndOfMessage()))

    def read_response(self) -> tuple[h11.Response, bytes]:
        response, body = None, b""
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(self.sock.recv(65536))
            elif isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert response is not None
                return response, body
            else:
                raise AssertionError(f"{event!r} instead of a response")

    def get(self, target: str = "/") -> tuple[h11.Response, bytes]:
        self.send_request(target)
        return self.read_response()

    def closed_by_server(self) -> bool:
        return self.sock.recv(1) == b""

    def close(self) -> None:
        self.sock.close()


def connection_header(response: h11.Response) -> bytes | None:
    return dict(response.headers).get(b"connection")


@contextlib.asynccontextmanager
async def serving(app: Necktie) -> AsyncIterator[tuple[Server, tuple[str, int], list[Client]]]:
    """A started server on its own listening socket, the clients a test opens (closed at the end)."""
    clients: list[Client] = []
    with bind_tcp("127.0.0.1", 0, backlog=64) as sock:
        server = Server(app, sock=sock, access_log=False, exclusive=True)
        await server.start()
        try:
            yield server, sock.getsockname(), clients
        finally:
            await server.stop()
            for client in clients:
                client.close()


async def eventually(check, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "it did not happen"
        await asyncio.sleep(0.01)


async def test_during_the_drain_delay_answers_say_close_and_readiness_is_503():
    app = make_app()
    async with serving(app) as (server, address, clients):
        await drain_delay_case(app, server, address, clients)


async def drain_delay_case(app, server, address, clients) -> None:
    kept = Client(address)
    clients.append(kept)
    first, _ = await asyncio.to_thread(kept.get)
    assert first.status_code == 200 and connection_header(first) is None  # kept alive
    hurry = asyncio.Event()
    stopping = asyncio.create_task(server.stop(drain_delay=3600, hurry=hurry))
    await eventually(lambda: app.health.draining)
    # The kept-alive connection is served once more, told to close, and closed.
    again, body = await asyncio.to_thread(kept.get)
    assert (again.status_code, body, connection_header(again)) == (200, b"ok", b"close")
    assert await asyncio.to_thread(kept.closed_by_server)
    # The listener still accepts; readiness says 503.
    probe = Client(address)
    clients.append(probe)
    ready, body = await asyncio.to_thread(probe.get, "/readyz")
    assert (ready.status_code, body, connection_header(ready)) == (503, b'{"status":"draining"}', b"close")
    assert not stopping.done()
    hurry.set()
    await asyncio.wait_for(stopping, 60)


async def test_connections_the_kernel_completed_before_the_close_are_served_not_reset():
    async with serving(make_app()) as (server, address, clients):
        # Connected and sent by the kernel while this loop does not run: none of them is accepted yet.
        clients += [Client(address) for _ in range(8)]
        for client in clients:
            client.send_request()
        await server.stop()
        for client in clients:
            response, body = client.read_response()
            assert (response.status_code, body, connection_header(response)) == (200, b"ok", b"close")


async def test_a_connection_whose_first_request_is_on_its_way_is_not_closed_by_the_shutdown():
    async with serving(make_app()) as (server, address, clients):
        early = Client(address)
        clients.append(early)
        await eventually(lambda: server.state is not None and len(server.state.connections) == 1)
        stopping = asyncio.create_task(server.stop())
        await eventually(lambda: server.state is not None and server.state.stopping)
        response, body = await asyncio.to_thread(early.get)
        assert (response.status_code, body, connection_header(response)) == (200, b"ok", b"close")
        await asyncio.wait_for(stopping, 60)
