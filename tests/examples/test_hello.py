"""examples/hello.py, the smallest app (docs/index.md and the package READMEs quote it), over a socket."""

from __future__ import annotations

import runpy
from pathlib import Path

from necktie_testing import TestClient

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hello.py"


def test_hello_world_and_the_streaming_echo():
    app = runpy.run_path(str(EXAMPLE))["app"]  # not as __main__: it does not start a server
    with TestClient(app) as client:
        assert client.get("/").text == "Hello, world!"
        assert client.post("/upper", content=iter([b"streams ", b"both ways"])).text == "STREAMS BOTH WAYS"
        with client.duplex("POST", "/upper") as duplex:
            duplex.send(b"first")
            assert duplex.receive_until(b"FIRST").endswith(b"FIRST")  # answered while the upload goes on
            duplex.send(b" second")
            assert duplex.receive_all() == b" SECOND"
