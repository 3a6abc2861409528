"""Conditions (Kubernetes conventions), the phase they add up to, and the transitions
between two statuses (each becomes an Event).

A condition's `lastTransitionTime` moves only when its status changes, so a reconcile that
finds the same facts produces an equal status, and equal statuses are never written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final, Literal, NamedTuple

from plattr.models import ApplicationStatus, Condition, Phase

DATABASE_READY: Final = "DatabaseReady"
STORAGE_READY: Final = "StorageReady"
AUTH_READY: Final = "AuthReady"
DEPLOYMENT_READY: Final = "DeploymentReady"
CONDITION_ORDER: Final = (DATABASE_READY, STORAGE_READY, AUTH_READY, DEPLOYMENT_READY)


def ready(kind: str, reason: str, message: str, generation: int | None) -> Condition:
    return Condition(
        type=kind, status="True", reason=reason, message=message, observed_generation=generation
    )


def not_ready(kind: str, reason: str, message: str, generation: int | None) -> Condition:
    return Condition(
        type=kind, status="False", reason=reason, message=message, observed_generation=generation
    )


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge_conditions(
    previous: Sequence[Condition], desired: Sequence[Condition], now: str
) -> list[Condition]:
    """`desired` in the canonical order, each with the previous `lastTransitionTime` when
    its status did not change, else `now`. Conditions not desired any more are dropped."""
    before = {condition.type: condition for condition in previous}
    merged = []
    for condition in sorted(desired, key=_order):
        old = before.get(condition.type)
        changed = old is None or old.status != condition.status or not old.last_transition_time
        merged.append(
            Condition(
                type=condition.type,
                status=condition.status,
                reason=condition.reason,
                message=condition.message,
                last_transition_time=old.last_transition_time if old and not changed else now,
                observed_generation=condition.observed_generation,
            )
        )
    return merged


def _order(condition: Condition) -> int:
    if condition.type in CONDITION_ORDER:
        return CONDITION_ORDER.index(condition.type)
    return len(CONDITION_ORDER)


def compute_phase(conditions: Sequence[Condition], *, failed: bool) -> Phase:
    """Failed when retries are used up; Running when every condition is True; Pending
    before any condition is known; Provisioning in between."""
    if failed:
        return "Failed"
    if not conditions:
        return "Pending"
    if all(condition.status == "True" for condition in conditions):
        return "Running"
    return "Provisioning"


class Transition(NamedTuple):
    """One change worth an Event."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str


def transitions(before: ApplicationStatus | None, after: ApplicationStatus) -> list[Transition]:
    """The phase change and each condition whose status changed, old to new."""
    found: list[Transition] = []
    old_phase = before.phase if before else None
    if after.phase != old_phase:
        warning = after.phase == "Failed"
        detail = f": {after.message}" if after.message else ""
        found.append(
            Transition(
                "Warning" if warning else "Normal",
                f"Phase{after.phase}",
                f"phase {old_phase or 'unset'} -> {after.phase}{detail}",
            )
        )
    old = {condition.type: condition for condition in (before.conditions if before else [])}
    for condition in after.conditions:
        previous = old.get(condition.type)
        if previous is not None and previous.status == condition.status:
            continue
        found.append(
            Transition(
                "Normal" if condition.status == "True" else "Warning",
                condition.reason,
                f"{condition.type} is {condition.status}: {condition.message}",
            )
        )
    return found
