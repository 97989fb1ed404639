"""Cost of one TQL evaluation, the price an ``if`` node or a segment condition adds to every /track.

    python bench/tql.py [--number 200000]

Evaluates typical conditions against a Profile Struct and an event dict, and prints microseconds per call for
``evaluate`` (cache lookup + compiled closures), for a predicate held by the caller (``predicate(expr)``, the
closures only), and for a cached ``parse`` of the same text; the best of 5 rounds, so a busy machine
disturbs the figures less.
"""

from __future__ import annotations

import argparse
import timeit
from datetime import UTC, datetime
from typing import Any

from tracardi.domain.profile import Profile
from tracardi.domain.tql import evaluate, parse, predicate

CONDITIONS = (
    'event@type == "purchase"',
    'profile@stats.visits > 3 AND event@type == "purchase"',
    'profile@segments CONTAINS "vip" OR profile@data.contact.email.main ENDS WITH "@gmail.com"',
    "profile@metadata.time.insert >= 2024-01-01 AND event@properties.price BETWEEN 10 AND 100",
    'NOT (profile@traits.tier IN ("gold", "silver") AND profile@stats.views < 10) AND profile@traits.x NOT EXISTS',
)


def scope() -> dict[str, Any]:
    profile = Profile(id="p", segments=["new", "vip"], traits={"tier": "gold"})
    profile.stats.visits = 5
    profile.data.contact.email.main = "ann@gmail.com"
    profile.metadata.time.insert = datetime(2024, 5, 1, tzinfo=UTC)
    event = {"type": "purchase", "properties": {"price": 42.0, "sku": "X-1"}}
    return {"profile": profile, "event": event, "payload": {}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=200_000)
    args = parser.parse_args()
    data = scope()
    print(f"{'condition':<100} {'evaluate':>9} {'predicate':>9} {'parse':>7}  (us per call)")
    for text in CONDITIONS:
        names = {
            "evaluate": evaluate,
            "parse": parse,
            "expr": parse(text),
            "test": predicate(parse(text)),
            "data": data,
        }
        calls = ("evaluate(expr, data)", "test(data)", f"parse({text!r})")
        us = [
            min(timeit.repeat(call, number=args.number, repeat=5, globals=names)) / args.number * 1e6 for call in calls
        ]
        print(f"{text:<100} {us[0]:>9.2f} {us[1]:>9.2f} {us[2]:>7.2f}  -> {evaluate(parse(text), data)}")


if __name__ == "__main__":
    main()
