"""Intervals in configs: ``90s``, ``15m``, ``2h 30m``, ``7d``, ``2w`` (a number, then a unit; parts add up)."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(w|d|h|m|s)\s*")
_SECONDS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
MAX_DAYS = 365 * 100


def parse_interval(text: str) -> timedelta:
    """``"1d 2h"`` -> timedelta; ValueError naming the problem (a 422 on save)."""
    if not text.strip() or len(text) > 100:
        raise ValueError(f"an interval such as '30m', '2h 15m' or '7d', not {text[:100]!r}")
    total, pos = 0.0, 0
    while pos < len(text):
        found = _PART.match(text, pos)
        if found is None:
            raise ValueError(f"interval {text!r}: expected a number and one of w d h m s at {pos}")
        total += float(found.group(1)) * _SECONDS[found.group(2)]
        pos = found.end()
    if total > MAX_DAYS * 86_400:
        raise ValueError(f"interval {text!r} is longer than {MAX_DAYS} days")
    return timedelta(seconds=total)
