"""Preview time-to-live values (`30m`, `72h`, `7d`: the `patterns.TTL` form) as durations."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

from plattr import patterns

_UNITS: Final = {"m": "minutes", "h": "hours", "d": "days"}
_TTL: Final = re.compile(patterns.TTL)


def parse_ttl(value: str) -> timedelta:
    """`30m` → 30 minutes, `72h` → 72 hours, `7d` → 7 days; ValueError otherwise."""
    if not _TTL.match(value):
        raise ValueError(f"ttl {value!r} is not a duration such as 30m, 72h or 7d")
    return timedelta(**{_UNITS[value[-1]]: int(value[:-1])})
