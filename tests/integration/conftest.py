"""A running controller per test module, shared by the integration tests that need one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.controller_harness import Harness, running_controller
from tests.support.stack import LocalStack


@pytest.fixture(scope="module")
def harness(stack: LocalStack) -> Iterator[Harness]:
    """plattr-controller's runtime on the real stack; resyncs only when a test asks."""
    with running_controller(stack, RESYNC_SECONDS="3600") as running:
        yield running
