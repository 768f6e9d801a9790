"""The third-adapter skeleton quoted in docs/adapters.md carries the guide's examples through the seam."""

from __future__ import annotations

import importlib.util
import sys
import types

import adapter_skeleton
import pytest
from adapter_carriers import EXAMPLES


def _example(name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(f"skeleton_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def skeleton():
    return adapter_skeleton


async def test_skeleton_streams_the_request_body_through_the_handler(skeleton):
    app = _example("request_streaming").app
    sink = await skeleton.serve_one(app, "POST", b"/stream", [(b"host", b"x")], [b"1a", b"", b"b1"])
    assert (sink.status, sink.complete) == (200, True)
    assert sink.chunks == [b"Aa", b"bA"]
    sink = await skeleton.serve_one(app, "PUT", b"/bp_stream", [(b"host", b"x")], [b"x1", b"y"])
    assert b"".join(sink.chunks) == b"xAy"
    sink = await skeleton.serve_one(app, "GET", b"/stream", [(b"host", b"x")])
    assert sink.status == 405


async def test_skeleton_streams_the_response(skeleton):
    app = _example("response_streaming").app
    sink = await skeleton.serve_one(app, "GET", b"/", [(b"host", b"x")])
    assert sink.status == 200
    assert ("content-type", "text/csv") in sink.headers
    assert sink.chunks == [b"foo,", b"bar"] and sink.complete
