"""A 256 MiB streamed download through the client keeps the test process's memory bounded."""

from __future__ import annotations

import gc

import psutil
import pytest
from necktie_testing import AsyncTestClient, TestClient
from testing_apps import Probe, make_app

SIZE_MIB = 256
BOUND = 48 << 20  # far below the 256 MiB body, far above the few socket-sized buffers in flight


@pytest.mark.parametrize("mode", ["live", "memory"])
def test_256_mib_download_keeps_memory_bounded(mode):
    process = psutil.Process()
    with TestClient(make_app(Probe()), mode=mode) as client:
        with client.stream("GET", f"/big/{SIZE_MIB}") as response:
            assert response.status_code == 200
            total = 0
            baseline = peak = 0
            for i, chunk in enumerate(response.iter_bytes()):
                total += len(chunk)
                if i == 64:  # past start-up allocations: measure growth from here
                    gc.collect()
                    baseline = peak = process.memory_info().rss
                elif i > 64 and i % 16 == 0:
                    peak = max(peak, process.memory_info().rss)
    assert total == SIZE_MIB << 20
    assert baseline and peak - baseline < BOUND, f"RSS grew by {(peak - baseline) >> 20} MiB"


async def test_256_mib_download_async_client_keeps_memory_bounded():
    process = psutil.Process()
    async with AsyncTestClient(make_app(Probe())) as client:
        async with client.stream("GET", f"/big/{SIZE_MIB}") as response:
            total = 0
            baseline = peak = 0
            i = 0
            async for chunk in response.aiter_raw():
                total += len(chunk)
                i += 1
                if i == 64:
                    gc.collect()
                    baseline = peak = process.memory_info().rss
                elif i > 64 and i % 16 == 0:
                    peak = max(peak, process.memory_info().rss)
    assert total == SIZE_MIB << 20
    assert baseline and peak - baseline < BOUND, f"RSS grew by {(peak - baseline) >> 20} MiB"


@pytest.mark.parametrize("mode", ["live", "memory"])
def test_256_mib_upload_from_a_generator_keeps_memory_bounded(mode):
    process = psutil.Process()
    block = b"u" * (1 << 16)
    samples: list[int] = []

    def body():
        for i in range(SIZE_MIB * 16):
            if i % 64 == 0:
                samples.append(process.memory_info().rss)
            yield block

    with TestClient(make_app(Probe()), mode=mode) as client:
        response = client.post("/count", content=body())
    assert response.text == str(SIZE_MIB << 20)
    baseline = samples[2]
    assert max(samples) - baseline < BOUND, f"RSS grew by {(max(samples) - baseline) >> 20} MiB"
