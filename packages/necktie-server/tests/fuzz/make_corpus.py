"""Write the fuzz targets' seed corpora (``corpus/http1``, ``corpus/ws``, ``corpus/h2``) from the wire-case
tables (HTTP/1 and HTTP/2), a few requests for each route of the fuzz apps, and the WebSocket and HTTP/2
seeds. Run it again after a table grows; the files are checked in.

    python packages/necktie-server/tests/fuzz/make_corpus.py
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from fuzz_driver import CUT  # noqa: E402
from h2_seeds import SEEDS as H2_SEEDS  # noqa: E402
from nt_cases import CASES  # noqa: E402
from nt_h2cases import H2_CASES  # noqa: E402
from nt_h2frames import settings  # noqa: E402
from ws_frames import SEEDS as WS_SEEDS  # noqa: E402

SEED_MAX = 2048  # bigger cases are left out: the corpus stays small, and amplification reaches the limits
# Control bytes (see fuzz_driver.Plan): whole, cut with the loop running between reads, cut back to back
# with an EOF, and a client that stops reading its answers for a while.
CONTROLS = [b"\x00\x01\x00\x00", b"\x05\x03\x01\x00", b"\x03\x82\x00\x00", b"\x02\x19\x00\x00"]

ROUTES = [
    b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /collect HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /collect HTTP/1.1\r\nHost: a\r\nContent-Length: 70000\r\n\r\nxxxx",
    b"POST /ignore HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789"
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /ignore HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n",
    b"GET /download HTTP/1.1\r\nHost: a\r\n\r\nHEAD /download HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /download HTTP/1.0\r\nHost: a\r\n\r\n",
    b"GET /raise HTTP/1.1\r\nHost: a\r\n\r\nGET /raise-mid HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /raise-mid?cl=1 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"HEAD /missing HTTP/1.1\r\nHost: a\r\n\r\nGET /missing HTTP/1.1\r\nHost: a\r\n\r\n",
    b"HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx",
    b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: foo\r\nConnection: upgrade\r\nContent-Length: 3\r\n\r\nabc",
]
# Floods: the repeated read (amplify flag 0x60, the third read, 64 KiB) stands for a large input.
FLOODS = [
    (b"\x00\x61\x01\x3f", [b"POST /collect HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
                           b"1\r\nx\r\n", b"0\r\n\r\n"]),
    (b"\x00\x61\x01\x3f", [b"GET / HTTP/1.1\r\n", b"X: 1\r\n", b"\r\n"]),
    (b"\x00\x61\x01\x3f", [b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", b""]),
    (b"\x00\x61\x01\x3f", [b"\r\n", b"\r\n", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"]),
    (b"\x00\x61\x01\x3f", [b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
                           b"1;" + b"e" * 200 + b"\r\nx\r\n", b"0\r\n\r\n"]),
]


def cut_at(pieces: list[bytes], control: bytes) -> bytes:
    """An input whose reads are exactly *pieces* (plus the random cuts *control* asks for)."""
    return control + CUT.join(pieces)


def write(directory: Path, inputs: list[bytes]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.iterdir():
        old.unlink()
    for data in inputs:
        (directory / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def main() -> None:
    http = [c + raw for raw, _ in CASES.values() if len(raw) <= SEED_MAX for c in CONTROLS[:2]]
    http += [c + raw for raw in ROUTES for c in CONTROLS]
    http += [cut_at(pieces, control) for control, pieces in FLOODS]
    write(HERE / "corpus" / "http1", http)
    write(HERE / "corpus" / "ws", list(WS_SEEDS))
    h2 = [*H2_SEEDS, *(CONTROLS[0] + settings() + raw for raw, _ in H2_CASES.values() if len(raw) < SEED_MAX)]
    write(HERE / "corpus" / "h2", h2)
    print(f"{len(http)} HTTP/1 seeds, {len(WS_SEEDS)} WebSocket seeds, {len(h2)} HTTP/2 seeds")


if __name__ == "__main__":
    main()
