"""Quantity comparison is exact across suffixes."""

from __future__ import annotations

import pytest

from plattr.quantity import parse_quantity


@pytest.mark.parametrize(
    ("smaller", "larger"),
    [("100m", "0.2"), ("999m", "1"), ("1Mi", "1.1M"), ("1G", "1Gi"), ("0.000000001", "1m")],
)
def test_ordering(smaller: str, larger: str) -> None:
    assert parse_quantity(smaller) < parse_quantity(larger)


@pytest.mark.parametrize(
    ("a", "b"),
    [("100m", "0.1"), ("1000m", "1"), ("1024Ki", "1Mi"), ("1k", "1000"), ("512Mi", "0.5Gi")],
)
def test_equal_quantities_in_different_notation(a: str, b: str) -> None:
    assert parse_quantity(a) == parse_quantity(b)
