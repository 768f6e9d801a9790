"""The bodies of the compression benchmark: a JSON document and a text, both made the same way every time.

``json_body()`` is a list of orders (ids, names, e-mails, nested items, prices, timestamps, statuses) as an
API would answer it; ``text_body()`` is prose of words drawn with Zipf-like frequencies from a vocabulary of
made-up words, in sentences and paragraphs. Both are about 400 KB and compress like their real kinds (the
text about 3:1 with gzip, the JSON better). Seeded, so every server and the driver get the same bytes.
"""

import itertools
import json
import random

SIZE = 400_000
_SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ren",
    "ta",
    "shi",
    "vo",
    "nel",
    "ar",
    "is",
    "tu",
    "pe",
    "dor",
    "an",
    "qu",
    "el",
    "ri",
    "sa",
    "mon",
    "be",
    "ly",
    "th",
    "or",
    "gen",
    "ce",
    "de",
    "ne",
    "st",
    "ion",
    "u",
]


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
    """About *size* bytes of prose-like text in paragraphs."""
    rng = random.Random(2)
    vocab = [
        "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice([1, 1, 2, 2, 2, 3, 3, 4])))
        for _ in range(3000)
    ]
    cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(vocab))))
    parts: list[str] = []
    total = 0
    while total < size:
        sentences = []
        for _ in range(rng.randrange(3, 8)):
            words = rng.choices(vocab, cum_weights=cumulative, k=rng.randrange(6, 20))
            sentences.append(" ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!"]))
        paragraph = " ".join(sentences) + "\n\n"
        parts.append(paragraph)
        total += len(paragraph)
    return "".join(parts).encode()


BODIES = {"json": (json_body, "application/json"), "text": (text_body, "text/plain; charset=utf-8")}
