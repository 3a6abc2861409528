"""pytest imports test modules by basename (rootdir "prepend" mode, no __init__.py), so two
modules with one basename anywhere under tests/ break collection of the whole suite."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def test_every_test_module_basename_is_unique() -> None:
    places: dict[str, list[str]] = defaultdict(list)
    for module in TESTS.rglob("*.py"):
        if module.name != "conftest.py" and "__pycache__" not in module.parts:
            places[module.name].append(str(module.relative_to(TESTS)))
    clashes = {name: paths for name, paths in places.items() if len(paths) > 1}
    assert not clashes, f"rename one of each: {clashes}"
