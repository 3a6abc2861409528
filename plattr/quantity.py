"""Kubernetes resource quantities, parsed just enough to compare them."""

from decimal import Decimal
from typing import Final

_SUFFIXES: Final = {
    "m": Decimal("0.001"),
    "": Decimal(1),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}


def parse_quantity(text: str) -> Decimal:
    """`"250m"` → 0.25, `"1Gi"` → 1073741824; the text must match `patterns.QUANTITY`."""
    number = text.rstrip("kmMGTPEi")
    return Decimal(number) * _SUFFIXES[text[len(number) :]]
