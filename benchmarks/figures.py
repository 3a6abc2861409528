"""The benchmarks' figures, for machines: test-artifacts/bench-figures.json, flat keys."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Final

FIGURES: Final = Path(__file__).resolve().parent.parent / "test-artifacts" / "bench-figures.json"


def record(figures: Mapping[str, float]) -> None:
    """Add (or replace) figures in the file, keeping those other benchmarks wrote."""
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    FIGURES.write_text(json.dumps({**known, **figures}, indent=2, sort_keys=True) + "\n")
