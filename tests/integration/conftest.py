"""A running controller per test module, shared by the integration tests that need one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.controller_harness import Harness, running_controller
from tests.support.stack import LocalStack


@pytest.fixture(scope="module")
def harness(stack: LocalStack) -> Iterator[Harness]:
    """plattr-controller's runtime on the real stack; resyncs only when a test asks, and
    each resync verifies every external system (the drift tests count on it;
    test_controller_drift.py tests the verify periods)."""
    verify_always = {f"{name}_VERIFY_SECONDS": "0" for name in ("DATABASE", "STORAGE", "AUTH")}
    with running_controller(stack, RESYNC_SECONDS="3600", **verify_always) as running:
        yield running
