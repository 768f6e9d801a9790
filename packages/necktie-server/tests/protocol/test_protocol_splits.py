"""The catalogue table over a mock transport, every case cut at every byte into two reads.

A real socket can merge sends; here each cut is exact, so every parser state boundary is crossed.
"""

from __future__ import annotations

import pytest
from nt_app import make_app
from nt_cases import CASES, NEXT, is_http10
from nt_mock import Conn

SPLITTABLE = sorted(k for k, (raw, _) in CASES.items() if len(raw) <= 400)


async def run(raw_parts: list[bytes], name: str) -> None:
    raw, expect = CASES[name]
    app, calls = make_app()
    conn = Conn(app)
    for part in raw_parts:
        conn.feed(part)
        await conn.settle(5)
    await conn.settle()
    methods = list(expect.methods) or None
    if expect.close:
        assert conn.closed, "the server kept the connection open"
        answers, rest = conn.answers(methods)
        assert rest == b""
    else:
        assert not conn.closed
        answers, rest = conn.answers(methods)
        assert rest == b""
        conn.feed(NEXT)
        await conn.settle()
        follow, rest = conn.answers([*(methods or ["GET"] * len(answers)), "GET"])
        assert conn.closed and rest == b""
        assert len(follow) == len(answers) + 1 and follow[-1].headers["x-path"] == "/next"
    assert tuple(a.status for a in answers) == expect.statuses, name
    if expect.close and answers and not is_http10(raw):
        assert answers[-1].closes
    got = calls.take()
    if not expect.close:
        assert got[-1] == "/next"
        got = got[:-1]
    assert tuple(got) == expect.calls
    for answer, body in zip(answers, expect.bodies, strict=False):
        if body is not None:
            assert answer.body == body


@pytest.mark.parametrize("name", SPLITTABLE)
async def test_every_two_way_split(name):
    raw, _ = CASES[name]
    for cut in range(1, len(raw)):
        await run([raw[:cut], raw[cut:]], name)


@pytest.mark.parametrize("name", sorted(CASES))
async def test_whole_and_by_bytes(name):
    raw, _ = CASES[name]
    await run([raw], name)
    if len(raw) <= 2000:
        await run([raw[i:i + 1] for i in range(len(raw))], name)
