"""The bodies of the compression benchmark: a JSON document and a text, both made the same way every time.

``json_body()`` is a list of orders (ids, names, e-mails, nested items, prices, timestamps, statuses) as
an API would answer it, seeded; ``text_body()`` is English documentation (Python's own). Both are about
400 KB and the same bytes for every server and the driver (gzip makes about 6.6:1 of the JSON, 3.4:1 of
the text).
"""

import json
import random

SIZE = 400_000


def json_body(size: int = SIZE) -> bytes:
    """About *size* bytes of JSON: orders with customers, items and timestamps."""
    rng = random.Random(1)
    first = ["Ada", "Alan", "Grace", "Linus", "Guido", "Barbara", "Ken", "Dennis", "Margaret", "Edsger"]
    last = ["Lovelace", "Turing", "Hopper", "Torvalds", "Rossum", "Liskov", "Thompson", "Ritchie", "Hamilton"]
    statuses = ["pending", "paid", "shipped", "delivered", "refunded"]
    orders: list[dict] = []
    out = b"[]"
    n = 0
    while len(out) < size:
        n += 1
        name = f"{rng.choice(first)} {rng.choice(last)}"
        orders.append(
            {
                "id": 100000 + n,
                "customer": {
                    "name": name,
                    "email": f"{name.lower().replace(' ', '.')}{rng.randrange(99)}@example.com",
                    "since": f"20{rng.randrange(10, 26)}-{rng.randrange(1, 13):02d}-"
                    f"{rng.randrange(1, 29):02d}",
                },
                "items": [
                    {
                        "sku": f"SKU-{rng.randrange(10**6):06d}",
                        "qty": rng.randrange(1, 5),
                        "price": round(rng.uniform(1, 500), 2),
                    }
                    for _ in range(rng.randrange(1, 5))
                ],
                "status": rng.choice(statuses),
                "created": f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T"
                f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z",
                "gift": rng.random() < 0.1,
            }
        )
        if n % 50 == 0:
            out = json.dumps(orders).encode()
    return json.dumps(orders).encode()


def text_body(size: int = SIZE) -> bytes:
    """The first *size* bytes of Python's own documentation topics (English prose with code, from the
    standard library's ``pydoc_data``: the same bytes for a given Python version)."""
    from pydoc_data.topics import topics

    return "".join(topics[name] for name in sorted(topics)).encode()[:size]


BODIES = {"json": (json_body, "application/json"), "text": (text_body, "text/plain; charset=utf-8")}
