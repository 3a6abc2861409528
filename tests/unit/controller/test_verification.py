"""The verify schedule: when a provisioner's last verification is trusted, and how the apps'
verifications spread over the period."""

from __future__ import annotations

from collections import Counter

import pytest

from controller.verification import Verifications, due, offset

HOUR = 3600.0


def test_offsets_are_stable_and_within_the_period() -> None:
    assert offset("uid-1", HOUR) == offset("uid-1", HOUR)
    assert offset("uid-1", HOUR) != offset("uid-2", HOUR)
    assert all(0 <= offset(f"uid-{n}", HOUR) < HOUR for n in range(1000))
    assert offset("uid-1", 0) == 0


def test_the_offsets_of_many_apps_spread_evenly_over_the_period() -> None:
    minutes = Counter(int(offset(f"app-{n}", HOUR) // 60) for n in range(5000))
    assert len(minutes) == 60
    mean = 5000 / 60
    assert max(minutes.values()) < 1.4 * mean
    assert min(minutes.values()) > 0.6 * mean


@pytest.mark.parametrize(
    ("verified_at", "now", "expected"),
    [
        (0.0, 0.0, False),
        (0.0, 99.0, False),  # the slot at 100 has not come
        (0.0, 100.0, True),
        (100.0, 3699.0, False),  # verified at the slot: the next is at 3700
        (100.0, 3700.0, True),
        (150.0, 7300.0, True),  # slots missed while down: due once
    ],
)
def test_due_when_a_slot_lies_after_the_last_verification(
    verified_at: float, now: float, expected: bool
) -> None:
    assert due(verified_at, now, HOUR, start=100.0) is expected


def test_a_period_of_zero_is_always_due() -> None:
    assert due(5.0, 5.0, 0, start=0)


def test_a_record_is_current_for_its_inputs_until_its_slot() -> None:
    now = [0.0]
    verifications = Verifications({"storage": HOUR}, lambda: now[0])
    slot = offset("uid-1", HOUR)
    now[0] = slot + 1
    verifications.record("uid-1", "storage", "1", "buckets b")
    assert verifications.current("uid-1", "storage", "1") == "buckets b"
    assert verifications.current("uid-1", "storage", "2") is None  # a new generation
    assert verifications.current("uid-1", "auth", "1") is None  # never verified
    now[0] = slot + HOUR - 1
    assert verifications.current("uid-1", "storage", "1") == "buckets b"
    now[0] = slot + HOUR
    assert verifications.current("uid-1", "storage", "1") is None


def test_forget_by_app_by_provisioner_or_all() -> None:
    verifications = Verifications({"auth": HOUR, "storage": HOUR}, lambda: 0.0)
    for uid in ("a", "b"):
        for provisioner in ("auth", "storage"):
            verifications.record(uid, provisioner, "1", "ok")
    verifications.forget("a")
    assert len(verifications) == 2
    verifications.forget(provisioner="auth")
    assert len(verifications) == 1
    verifications.forget()
    assert len(verifications) == 0
