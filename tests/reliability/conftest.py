"""The reliability suite's own settings: the `load` marker (the load test runs at a small
scale in every run and at full scale, 500 apps and 100 previews, with PLATTR_LOAD=1, as
`make reliability` sets) and the session's counters written to
test-artifacts/reliability-figures.json."""

from __future__ import annotations

import pytest

from tests.support.reliability_support import COUNTS, record


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "load: the load test (full scale with PLATTR_LOAD=1: make reliability)"
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for name, value in sorted(COUNTS.items()):
        record(name, value)
