"""Each test here runs once per carrier (necktie-server, and uvicorn and granian over the ASGI adapter).

The apps are the streaming-format examples and `streaming_apps`, served as real subprocesses on loopback by
the adapter tests' launcher, so the helpers are checked to behave the same under every carrier.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters"))

from adapter_carriers import CARRIERS, EXAMPLES, serving

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module", params=CARRIERS)
def carrier(request: pytest.FixtureRequest) -> str:
    """The name of the server carrying the apps."""
    return request.param  # type: ignore[no-any-return]


def _served(carrier: str, module: str, app_dir: Path, tmp_path_factory: pytest.TempPathFactory,
            env: dict[str, str] | None = None):
    with serving(carrier, module, app_dir, tmp_path_factory.mktemp(module) / "log", env) as server:
        yield server


@pytest.fixture(scope="module")
def apps(carrier, tmp_path_factory):
    """`streaming_apps` (the tests' own routes), served by *carrier*."""
    yield from _served(carrier, "streaming_apps", HERE, tmp_path_factory)


# Small multipart limits, set as a deployment would: through the environment (NECKTIE_<SETTING>).
MULTIPART_LIMITS = {"MULTIPART_MAX_PARTS": 3, "MULTIPART_MAX_FIELD_SIZE": 10,
                    "MULTIPART_MAX_HEADER_SIZE": 200, "MULTIPART_MAX_HEADERS": 3}


@pytest.fixture(scope="module")
def limited_apps(carrier, tmp_path_factory):
    """`streaming_apps` with `MULTIPART_LIMITS`, served by *carrier*."""
    env = {f"NECKTIE_{name}": str(value) for name, value in MULTIPART_LIMITS.items()}
    yield from _served(carrier, "streaming_apps", HERE, tmp_path_factory, env)


@pytest.fixture(scope="module")
def upload_example(carrier, tmp_path_factory):
    """``examples/multipart_upload.py``, served by *carrier*."""
    yield from _served(carrier, "multipart_upload", EXAMPLES, tmp_path_factory)


@pytest.fixture(scope="module")
def ndjson_example(carrier, tmp_path_factory):
    """``examples/ndjson_stream.py``, served by *carrier*."""
    yield from _served(carrier, "ndjson_stream", EXAMPLES, tmp_path_factory)


@pytest.fixture(scope="module")
def sse_example(carrier, tmp_path_factory):
    """``examples/sse_events.py``, served by *carrier*."""
    yield from _served(carrier, "sse_events", EXAMPLES, tmp_path_factory)


@pytest.fixture(scope="module")
def validation_example(carrier, tmp_path_factory):
    """``examples/validation.py``, served by *carrier*."""
    yield from _served(carrier, "validation", EXAMPLES, tmp_path_factory)
