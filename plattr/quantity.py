"""Kubernetes resource quantities, parsed just enough to compare them (integers only: no
float rounding, and no `decimal` import on the render hot path)."""

from typing import Final

_SCALE: Final = 10**9
"""Quantities are compared in billionths of a unit: exact for every quantity we accept."""
_MULTIPLIERS: Final = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def parse_quantity(text: str) -> int:
    """`"250m"` → 250_000_000, `"1Gi"` → 2**30 * 10**9 (billionths); text matches
    `patterns.QUANTITY`."""
    number = text.rstrip("kmKMGTPEi")
    whole, _, fraction = number.partition(".")
    billionths = int(whole) * _SCALE + int((fraction + "0" * 9)[:9])
    suffix = text[len(number) :]
    if suffix == "m":
        return billionths // 1000
    return billionths * _MULTIPLIERS[suffix]
