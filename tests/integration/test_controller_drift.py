"""Drift correction at its cost, on the real stack: within a verify period a resync calls
neither Postgres, S3/IAM nor Keycloak; a bucket policy changed by hand is restored by the next
verification; a deleted Secret or ConfigMap of the app is restored at once, its system
verified again. Bounds in docs/drift.md."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from controller.kinds import APPLICATION, CONFIG_MAP, SECRET
from controller.provisioners.counting import CallCounts
from devstack import Moto, wait_until
from plattr import secret_keys
from plattr.naming import Target
from tests.support.controller_harness import (
    TIMEOUT,
    Harness,
    rendered,
    running_controller,
    spec,
)
from tests.support.stack import LocalStack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

HOUR = "3600"


def calls(harness: Harness) -> dict[str, CallCounts]:
    """Every SQL statement, S3/IAM operation and Keycloak admin request so far."""
    return {
        "database": harness.database.calls.snapshot(),
        "storage": harness.storage.calls.snapshot(),
        "auth": harness.auth.calls.snapshot(),
    }


def running_app(harness: Harness) -> Target:
    target = Target(f"drift-{uuid.uuid4().hex[:6]}", "staging")
    harness.apply(rendered(spec(), target.app))
    harness.wait_phase(APPLICATION, target.namespace, target.app, "Running")
    harness.settle()
    return target


def bucket_of(harness: Harness, target: Target) -> str:
    config = harness.get(CONFIG_MAP, target.namespace, target.config_map_name("storage"))
    assert config is not None
    name: str = config["data"][secret_keys.bucket_key("uploads")]
    return name


@pytest.fixture(scope="module")
def hourly(stack: LocalStack) -> Iterator[Harness]:
    """A controller verifying each system once an hour (the defaults)."""
    periods = {f"{name}_VERIFY_SECONDS": HOUR for name in ("DATABASE", "STORAGE", "AUTH")}
    with running_controller(stack, RESYNC_SECONDS=HOUR, **periods) as running:
        yield running


def test_a_resync_within_the_period_calls_no_external_system(hourly: Harness) -> None:
    target = running_app(hourly)
    before, writes = calls(hourly), hourly.writes()
    reconciles = hourly.reconciles(target.app)
    hourly.resync()
    hourly.resync()
    assert hourly.reconciles(target.app) == reconciles + 2
    assert calls(hourly) == before
    assert hourly.writes() == writes
    assert hourly.status(APPLICATION, target.namespace, target.app)["phase"] == "Running"


@pytest.mark.parametrize("system", ["database", "storage", "auth"])
def test_a_deleted_secret_or_config_map_is_restored_at_once_its_system_verified(
    hourly: Harness, system: str
) -> None:
    target = running_app(hourly)
    kind, name = {
        "database": (SECRET, target.secret_name("db")),
        "storage": (CONFIG_MAP, target.config_map_name("storage")),
        "auth": (SECRET, target.secret_name("auth")),
    }[system]
    before = calls(hourly)
    hourly.delete(kind, target.namespace, name)
    wait_until(
        lambda: hourly.get(kind, target.namespace, name) is not None,
        f"{name} restored without a resync",
        TIMEOUT,
    )
    hourly.settle()
    after = calls(hourly)
    assert after[system].reads > before[system].reads  # verified again, not trusted
    if system == "auth":  # the restored Secret holds the realm's client secret
        restored = hourly.secret(target.namespace, name)
        assert restored is not None
        assert restored[secret_keys.OIDC_CLIENT_ID] == target.client_id
    assert hourly.status(APPLICATION, target.namespace, target.app)["phase"] == "Running"


def test_a_hand_changed_bucket_policy_is_restored_by_the_next_verification(
    stack: LocalStack, moto: Moto
) -> None:
    with running_controller(stack, RESYNC_SECONDS=HOUR, STORAGE_VERIFY_SECONDS="1") as harness:
        target = running_app(harness)
        bucket = bucket_of(harness, target)
        moto.put_foreign_policy(bucket)

        def restored() -> bool:
            harness.resync()  # each resync verifies storage once its 1 s slot has come
            return not moto.has_policy(bucket)

        wait_until(restored, f"the hand-made policy on {bucket} removed", TIMEOUT)
        assert harness.status(APPLICATION, target.namespace, target.app)["phase"] == "Running"
