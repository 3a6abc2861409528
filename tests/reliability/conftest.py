"""The reliability suite's own settings: the `load` marker (the long load test, run by
`make reliability`, skipped by a plain `pytest` unless PLATTR_LOAD=1) and the session's
counters written to test-artifacts/reliability-figures.json."""

from __future__ import annotations

import os

import pytest
from reliability_support import COUNTS, record


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "load: the long load test (make reliability runs it; PLATTR_LOAD=1)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("PLATTR_LOAD") == "1":
        return
    skip = pytest.mark.skip(reason="the load test runs under `make reliability` (PLATTR_LOAD=1)")
    for item in items:
        if item.get_closest_marker("load"):
            item.add_marker(skip)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for name, value in sorted(COUNTS.items()):
        record(name, value)
