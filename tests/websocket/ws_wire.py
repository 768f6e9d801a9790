"""A websocket client by hand over raw sockets: the handshake, frames as bytes, the server's frames back."""

from __future__ import annotations

import base64
import os
import socket
import struct
import zlib

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def raw_handshake(port: int, extra: bytes = b"", key: bytes | None = None, version: bytes = b"13",
                  path: bytes = b"/echo", trailing: bytes = b"", rcvbuf: int = 0
                  ) -> tuple[socket.socket, bytes]:
    """Open a websocket by hand; returns the socket and what was read up to the end of the response head.

    *rcvbuf* sets a small receive buffer (for a client that reads nothing and should buffer little).
    """
    sock = socket.socket()
    sock.settimeout(10)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)) if key is None else key
    head = (b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + (b"Sec-WebSocket-Key: " + key + b"\r\n" if key else b"")
            + b"Sec-WebSocket-Version: " + version + b"\r\n" + extra + b"\r\n" + trailing)
    sock.sendall(head)
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(4096)
        if not chunk:
            break
        response += chunk
    return sock, response


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0, masked: bool = True) -> bytes:
    """One client frame: *rsv* is the RSV1-3 bits as they sit in the first byte (0x40, 0x20, 0x10)."""
    first = (0x80 if fin else 0) | rsv | opcode
    size = len(payload)
    if size < 126:
        head = bytes([first, (0x80 if masked else 0) | size])
    elif size < 1 << 16:
        head = bytes([first, (0x80 if masked else 0) | 126]) + struct.pack("!H", size)
    else:
        head = bytes([first, (0x80 if masked else 0) | 127]) + struct.pack("!Q", size)
    if not masked:
        return head + payload
    mask = os.urandom(4)
    key = (mask * (size // 4 + 1))[:size]
    body = (int.from_bytes(payload) ^ int.from_bytes(key)).to_bytes(size) if size else b""
    return head + mask + body


def masked(opcode: int, payload: bytes, first_byte_extra: int = 0) -> bytes:
    """A final masked frame, with *first_byte_extra* or-ed into its first byte (reserved bits)."""
    return frame(opcode, payload, rsv=first_byte_extra)


def deflated(data: bytes) -> bytes:
    """*data* compressed as permessage-deflate sends it (raw deflate, the final empty block's tail cut)."""
    compressor = zlib.compressobj(wbits=-15)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def close_payload(code: int, reason: bytes = b"") -> bytes:
    """The payload of a close frame."""
    return struct.pack("!H", code) + reason


class FrameReader:
    """The server's frames (unmasked), one at a time, from *sock* after *data* (already read)."""

    def __init__(self, sock: socket.socket, data: bytes = b"") -> None:
        self.sock = sock
        self.data = data

    def _fill(self, size: int) -> bool:
        while len(self.data) < size:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:  # what came before the reset still counts
                chunk = b""
            if not chunk:
                return False
            self.data += chunk
        return True

    def next(self) -> tuple[int, bytes] | None:
        """The next frame as (opcode, payload), or None once the server closed the connection."""
        if not self._fill(2):
            return None
        opcode, length, pos = self.data[0] & 0x0F, self.data[1] & 0x7F, 2
        if length >= 126:
            pos = 4 if length == 126 else 10
            if not self._fill(pos):
                return None
            length = int.from_bytes(self.data[2:pos])
        if not self._fill(pos + length):
            return None
        payload, self.data = self.data[pos:pos + length], self.data[pos + length:]
        return opcode, payload


def read_frames(sock: socket.socket, data: bytes = b"") -> list[tuple[int, bytes]]:
    """Read server frames until EOF (or a reset)."""
    return list(iter(FrameReader(sock, data).next, None))


def close_code(frames: list[tuple[int, bytes]]) -> int | None:
    """The code of the server's close frame (the last frame), or None if it ended without one."""
    if not frames or frames[-1][0] != CLOSE or len(frames[-1][1]) < 2:
        return None
    return struct.unpack("!H", frames[-1][1][:2])[0]  # type: ignore[no-any-return]
