"""The NDJSON ingest benchmark's line model (one pydantic model for every app) and its sample lines."""

import json
import random

from pydantic import BaseModel


class Reading(BaseModel):
    """One line of the ingested body."""

    sensor: str
    seq: int
    value: float
    ok: bool


def sample_lines(n: int) -> bytes:
    """*n* valid NDJSON lines (about 60 bytes each), seeded."""
    rng = random.Random(4)
    return b"".join(
        json.dumps(
            {
                "sensor": f"s-{rng.randrange(1000):04d}",
                "seq": i,
                "value": round(rng.uniform(-50, 50), 3),
                "ok": rng.random() < 0.9,
            },
            separators=(",", ":"),
        ).encode()
        + b"\n"
        for i in range(n)
    )
