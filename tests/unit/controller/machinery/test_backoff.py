"""The default retry schedule and the reconnect backoff."""

from __future__ import annotations

import random

import pytest

from controller.machinery.backoff import Backoff, RetrySchedule


def test_the_default_schedule_is_one_two_four_seconds_then_none() -> None:
    schedule = RetrySchedule()
    assert [schedule.delay(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, None]
    assert schedule.delays == (1.0, 2.0, 4.0)


def test_a_schedule_rejects_a_failure_count_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetrySchedule().delay(0)


def test_backoff_doubles_up_to_its_cap_within_jitter_and_resets() -> None:
    backoff = Backoff(initial=1, maximum=8, jitter=random.Random(7))  # noqa: S311
    delays = [backoff.next() for _ in range(6)]
    ceilings = [1, 2, 4, 8, 8, 8]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    backoff.reset()
    assert 0.5 <= backoff.next() <= 1
