"""Condition conventions, phase computation and the transitions that become Events."""

from __future__ import annotations

from controller.conditions import (
    compute_phase,
    merge_conditions,
    not_ready,
    ready,
    transitions,
)
from plattr.models import ApplicationStatus


def test_last_transition_time_moves_only_when_the_status_changes() -> None:
    first = merge_conditions([], [not_ready("DatabaseReady", "Unreachable", "down", 1)], "T1")
    assert first[0].last_transition_time == "T1"
    same = merge_conditions(first, [not_ready("DatabaseReady", "Timeout", "slow", 2)], "T2")
    assert same[0].last_transition_time == "T1"
    assert (same[0].reason, same[0].observed_generation) == ("Timeout", 2)
    flipped = merge_conditions(same, [ready("DatabaseReady", "Provisioned", "ok", 2)], "T3")
    assert flipped[0].last_transition_time == "T3"


def test_conditions_come_in_canonical_order_and_stale_ones_go() -> None:
    previous = merge_conditions([], [ready("AuthReady", "Provisioned", "", 1)], "T1")
    desired = [
        ready("DeploymentReady", "ReplicasAvailable", "", 1),
        ready("DatabaseReady", "Provisioned", "", 1),
    ]
    merged = merge_conditions(previous, desired, "T2")
    assert [c.type for c in merged] == ["DatabaseReady", "DeploymentReady"]


def test_phase_computation() -> None:
    up = ready("DatabaseReady", "Provisioned", "", 1)
    down = not_ready("DeploymentReady", "RollingOut", "", 1)
    assert compute_phase([], failed=False) == "Pending"
    assert compute_phase([up, down], failed=False) == "Provisioning"
    assert compute_phase([up], failed=False) == "Running"
    assert compute_phase([up], failed=True) == "Failed"


def test_transitions_name_the_phase_change_and_each_flipped_condition() -> None:
    before = ApplicationStatus(
        phase="Provisioning",
        conditions=merge_conditions(
            [],
            [ready("DatabaseReady", "Provisioned", "", 1), not_ready("AuthReady", "Down", "", 1)],
            "T1",
        ),
    )
    after = ApplicationStatus(
        phase="Running",
        conditions=merge_conditions(
            before.conditions,
            [
                ready("DatabaseReady", "Provisioned", "", 1),
                ready("AuthReady", "Provisioned", "", 1),
            ],
            "T2",
        ),
    )
    found = transitions(before, after)
    assert [(t.type, t.reason) for t in found] == [
        ("Normal", "PhaseRunning"),
        ("Normal", "Provisioned"),
    ]
    assert "AuthReady is True" in found[1].message
    assert transitions(after, after) == []


def test_failed_is_a_warning_carrying_the_reason() -> None:
    after = ApplicationStatus(phase="Failed", message="DatabaseReady: unreachable")
    (event,) = transitions(ApplicationStatus(phase="Provisioning"), after)
    assert event.type == "Warning"
    assert "unreachable" in event.message
