"""The `websockets` library's own asyncio server, for the WebSocket echo benchmark (any path echoes).

Plain HTTP GET /hello is answered through its process_request hook, so the harness can tell it is up.

Usage: python ws_websockets.py [HOST [PORT]]   (or BENCH_HOST / BENCH_PORT)
"""

import asyncio
import os
import sys
from http import HTTPStatus

from websockets.asyncio.server import serve

HOST = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_HOST", "127.0.0.1")
PORT = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_PORT", "8000"))


async def echo(websocket):
    async for message in websocket:
        await websocket.send(message)


def hello(connection, request):
    if "upgrade" not in request.headers.get("Connection", "").lower():
        return connection.respond(HTTPStatus.OK, "Hello, world!")
    return None


async def main():
    async with serve(echo, HOST, PORT, process_request=hello) as server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
