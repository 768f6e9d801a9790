"""The floor: a bare uvloop + httptools asyncio.Protocol.

It parses each request with httptools (so request bodies are consumed, never
buffered) and answers every request, whatever its method or path, with one
pre-built response. No framework can do less work per request, so its numbers
are the ceiling (the "floor" of overhead) for the endpoints it can serve.

Usage: python floor_app.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
"""

import asyncio
import os
import signal
import sys

import httptools
import uvloop

BODY = b"Hello, world!"
RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n"
    b"\r\n" + BODY
)


def address() -> tuple[str, int]:
    host = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
    port = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))
    return host, port


class FloorProtocol(asyncio.Protocol):
    __slots__ = ("transport", "parser")

    def connection_made(self, transport):
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)

    def data_received(self, data):
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_complete(self):
        self.transport.write(RESPONSE)
        if not self.parser.should_keep_alive():
            self.transport.close()

    def connection_lost(self, exc):
        self.transport = None


async def main() -> None:
    host, port = address()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(FloorProtocol, host, port, backlog=2048)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    uvloop.run(main())
