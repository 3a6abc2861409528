"""The reconciler against in-memory provisioners and cluster: conditions, phases, zero
writes when nothing changed, retries ending in Failed, recovery, rotation, deletion."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from controller.errors import PolicyRefusal
from controller.machinery.cache import ObjectCache
from controller.machinery.objects import KubeObject, ObjectKey
from controller.metrics import Metrics
from controller.provisioners.interfaces import ProvisionerError
from controller.reconciler import Provisioners, Reconciler
from controller.verification import PROVISIONERS, Verifications
from plattr import environments as declaration
from plattr import secret_keys
from plattr.environments import Environments, shipped
from plattr.labels import FINALIZER
from plattr.naming import Target
from tests.support.controller_fakes import (
    FakeAuth,
    FakeCluster,
    FakeDatabase,
    FakeStorage,
    application,
    preview,
    ready_deployment,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class World:
    def __init__(
        self,
        obj: KubeObject,
        *,
        deployment: bool = True,
        environments: Callable[[], Environments] = shipped,
        verifications: Verifications | None = None,
    ) -> None:
        self.cache = ObjectCache()
        metadata = obj["metadata"]
        self.key = ObjectKey(obj["kind"], metadata["namespace"], metadata["name"])
        self.cache.put(self.key, obj)
        self.cluster = FakeCluster(self.cache)
        self.database, self.storage, self.auth = FakeDatabase(), FakeStorage(), FakeAuth()
        self.metrics = Metrics()
        self.reconciler = Reconciler(
            self.cluster,
            self.cache,
            Provisioners(self.database, self.storage, self.auth),
            self.metrics,
            base_domain="apps.example.com",
            aws_region="eu-west-1",
            environments=environments,
            verifications=verifications,
            now=lambda: NOW,
        )
        if deployment:
            self.cluster.deployments[(metadata["namespace"], metadata["name"])] = ready_deployment(
                metadata["name"]
            )

    def reconcile(self, *, final_attempt: bool = False) -> bool:
        return self.reconciler.reconcile(self.key, final_attempt=final_attempt)

    @property
    def obj(self) -> KubeObject:
        obj = self.cache.get(self.key)
        assert obj is not None
        return obj

    @property
    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.obj["status"]
        return status

    def conditions(self) -> dict[str, tuple[str, str]]:
        return {c["type"]: (c["status"], c["reason"]) for c in self.status["conditions"]}

    def writes(self) -> tuple[int, int, int, int, int]:
        return (
            self.cluster.writes,
            len(self.cluster.events),
            self.database.writes,
            self.storage.writes,
            self.auth.writes,
        )

    def ensures(self) -> tuple[int, int, int]:
        return (self.database.ensures, self.storage.ensures, self.auth.ensures)

    def delete(self) -> None:
        metadata = {**self.obj["metadata"], "deletionTimestamp": "2026-01-02T00:00:00Z"}
        self.cache.put(self.key, {**self.obj, "metadata": metadata})


def test_an_app_with_everything_ends_running_with_every_condition_true() -> None:
    world = World(application())
    assert world.reconcile()
    assert FINALIZER in world.obj["metadata"]["finalizers"]
    assert world.status["phase"] == "Running"
    assert world.conditions() == {
        "DatabaseReady": ("True", "Provisioned"),
        "StorageReady": ("True", "Provisioned"),
        "AuthReady": ("True", "Provisioned"),
        "DeploymentReady": ("True", "ReplicasAvailable"),
    }
    assert world.status["url"] == "https://shop.staging.apps.example.com"
    assert world.status["secrets"] == ["shop-auth", "shop-db"]
    assert world.status["observedGeneration"] == 1
    assert all(
        c["lastTransitionTime"] == "2026-01-01T12:00:00Z" for c in world.status["conditions"]
    )
    db = world.cluster.secrets[("staging", "shop-db")]
    assert set(db) == set(secret_keys.DATABASE_KEYS)
    assert world.database.roles["shop_staging"] == db[secret_keys.PGPASSWORD]
    assert world.cluster.config_maps[("staging", "shop-storage")] == {
        "BUCKET_UPLOADS": Target("shop", "staging").bucket("test", "uploads"),
        "AWS_REGION": "eu-west-1",
    }
    assert set(world.cluster.secrets[("staging", "shop-auth")]) == set(secret_keys.AUTH_KEYS)
    reasons = [event.reason for _, event in world.cluster.events]
    assert reasons[0] == "PhasePending"
    assert "PhaseRunning" in reasons


def test_the_finalizer_is_there_before_any_external_resource() -> None:
    world = World(application(storage=False, auth=False))
    seen = []
    ensure = world.database.ensure

    def checking_ensure(target: Target, password: str, *, reset_password: bool) -> bool:
        seen.append(FINALIZER in world.obj["metadata"].get("finalizers", []))
        return ensure(target, password, reset_password=reset_password)

    world.database.ensure = checking_ensure  # type: ignore[method-assign]
    world.reconcile()
    assert seen == [True]


def test_a_second_reconcile_writes_nothing_anywhere() -> None:
    world = World(application())
    world.reconcile()
    before = world.writes()
    assert world.reconcile()
    assert world.writes() == before


def test_without_a_deployment_the_app_stays_provisioning() -> None:
    world = World(application(), deployment=False)
    world.reconcile()
    assert world.status["phase"] == "Provisioning"
    assert world.conditions()["DeploymentReady"] == ("False", "DeploymentNotFound")
    message = next(c for c in world.status["conditions"] if c["type"] == "DeploymentReady")
    assert "Argo CD" in message["message"]
    assert "plattr render FILE | kubectl apply -f -" in message["message"]


def test_an_application_outside_its_environments_namespace_is_not_provisioned() -> None:
    obj = application()
    obj["metadata"]["namespace"] = "default"
    world = World(obj, deployment=False)
    assert world.reconcile()  # nothing to retry
    assert world.status["phase"] == "Failed"
    assert "namespace default" in world.status["message"]
    assert "namespace is staging" in world.status["message"]
    assert "plattr render FILE | kubectl apply -f -" in world.status["message"]
    assert (world.database.writes, world.storage.writes, world.auth.writes) == (0, 0, 0)
    assert world.cluster.secrets == {}
    assert FINALIZER not in world.obj["metadata"].get("finalizers", [])
    assert [event.reason for _, event in world.cluster.events] == ["WrongNamespace"]
    writes = world.writes()
    assert world.reconcile()
    assert world.writes() == writes  # said once


def declared(*entries: dict[str, Any]) -> Environments:
    return declaration.parse({"environments": list(entries)}, "values.yaml")


STAGING: dict[str, Any] = {"name": "staging"}
QA: dict[str, Any] = {"name": "qa", "namespace": "quality", "host": "{app}-qa.{domain}"}


def test_an_app_of_an_undeclared_environment_is_refused_until_it_is_declared() -> None:
    current = [declared(STAGING)]
    obj = application(environment="qa")
    obj["metadata"]["namespace"] = "quality"
    world = World(obj, environments=lambda: current[0])
    assert world.reconcile()  # nothing to retry: the declaration has to change
    assert world.status["phase"] == "Failed"
    assert world.status["message"] == (
        "spec.environment: 'qa' is not a declared environment; declared: staging (from "
        "values.yaml). Pick one of those, or have the platform team add it to the "
        "environments declaration"
    )
    assert [event.reason for _, event in world.cluster.events] == ["EnvironmentNotDeclared"]
    assert (world.database.writes, world.storage.writes, world.auth.writes) == (0, 0, 0)
    current[0] = declared(STAGING, QA)
    world.cluster.deployments[("quality", "shop")] = ready_deployment("shop")
    assert world.reconcile()
    assert world.status["phase"] == "Running"
    assert world.status["url"] == "https://shop-qa.apps.example.com"
    assert "shop_qa" in world.database.roles


def test_retiring_an_environment_deletes_nothing_and_its_apps_keep_their_data() -> None:
    current = [declared(STAGING)]
    world = World(application(), environments=lambda: current[0])
    assert world.reconcile()
    assert world.status["phase"] == "Running"
    current[0] = declared({"name": "qa"})
    assert world.reconcile()
    assert world.status["phase"] == "Failed"
    assert "'staging' is not a declared environment; declared: qa" in world.status["message"]
    assert "shop_staging" in world.database.roles
    assert world.storage.buckets
    assert world.cluster.secrets
    world.delete()  # deleting such an app lets it go and keeps its data
    assert world.reconcile()
    assert FINALIZER not in world.obj["metadata"]["finalizers"]
    assert "shop_staging" in world.database.roles
    assert world.storage.buckets


def test_failures_retry_then_fail_with_the_reason_then_recover() -> None:
    world = World(application(storage=False, auth=False))
    world.database.fail_with = ProvisionerError("DatabaseUnreachable", "cannot reach db:5432")
    assert not world.reconcile()
    assert world.status["phase"] == "Provisioning"
    assert world.conditions()["DatabaseReady"] == ("False", "DatabaseUnreachable")
    assert not world.reconcile(final_attempt=True)
    assert world.status["phase"] == "Failed"
    assert "cannot reach db:5432" in world.status["message"]
    assert ("Warning", "PhaseFailed") in [(e.type, e.reason) for _, e in world.cluster.events]
    world.database.fail_with = None
    assert world.reconcile(final_attempt=True)  # a resync after the cause is fixed
    assert world.status["phase"] == "Running"
    assert "message" not in world.status


def test_a_lost_db_secret_comes_back_with_a_new_password() -> None:
    world = World(application(storage=False, auth=False))
    world.reconcile()
    old = world.cluster.secrets.pop(("staging", "shop-db"))[secret_keys.PGPASSWORD]
    world.reconcile()
    new = world.cluster.secrets[("staging", "shop-db")][secret_keys.PGPASSWORD]
    assert new != old
    assert world.database.roles["shop_staging"] == new


def test_a_missing_provisioner_is_reported_as_not_configured() -> None:
    world = World(application(database=False, storage=False))
    world.reconciler = Reconciler(
        world.cluster,
        world.cache,
        Provisioners(None, None, None),
        world.metrics,
        base_domain="apps.example.com",
        aws_region="eu-west-1",
    )
    assert not world.reconcile()
    status, reason = world.conditions()["AuthReady"]
    assert (status, reason) == ("False", "AuthNotConfigured")
    assert "KEYCLOAK_URL" in world.status["message"]


def test_an_invalid_spec_fails_without_provisioning() -> None:
    obj = application()
    obj["spec"]["scaling"] = {"min": 5, "max": 2}
    world = World(obj)
    assert world.reconcile()
    assert world.status["phase"] == "Failed"
    assert "min (5) is greater than max (2)" in world.status["message"]
    assert world.database.writes == 0


def test_deleting_in_production_retains_the_data_and_releases_the_finalizer() -> None:
    world = World(application(environment="production"))
    world.reconcile()
    world.delete()
    assert world.reconcile()
    assert FINALIZER not in world.obj["metadata"]["finalizers"]
    assert "shop_production" in world.database.roles
    assert world.storage.buckets
    assert [e.reason for _, e in world.cluster.events][-1] == "Retained"


def test_deleting_elsewhere_removes_everything() -> None:
    world = World(application())
    world.reconcile()
    world.delete()
    assert world.reconcile()
    assert FINALIZER not in world.obj["metadata"]["finalizers"]
    assert not world.database.roles
    assert not world.storage.buckets
    assert not world.auth.realms
    assert not world.cluster.secrets
    assert not world.cluster.config_maps


def test_a_non_empty_bucket_blocks_deletion_and_says_how_to_proceed() -> None:
    world = World(application(database=False, auth=False))
    world.reconcile()
    bucket = next(iter(world.storage.buckets))
    world.storage.buckets[bucket] = 3
    world.delete()
    assert not world.reconcile()
    assert not world.reconcile(final_attempt=True)
    assert FINALIZER in world.obj["metadata"]["finalizers"]
    assert world.conditions()["StorageReady"] == ("False", "BucketNotEmpty")
    assert world.status["phase"] == "Failed"
    blocked = [e for _, e in world.cluster.events if e.reason == "DeletionBlocked"]
    assert len(blocked) == 1  # not repeated by the retry
    assert bucket in blocked[0].message
    assert "deletionPolicy: Retain" in blocked[0].message
    world.storage.buckets[bucket] = 0
    assert world.reconcile(final_attempt=True)
    assert FINALIZER not in world.obj["metadata"]["finalizers"]


def test_a_preview_gets_its_own_schema_and_an_expiry() -> None:
    world = World(preview())
    world.cluster.deployments[("preview-shop-pr-7", "shop-pr-7")] = ready_deployment("shop-pr-7", 1)
    assert world.reconcile()
    assert world.status["expiresAt"] == "2026-01-01T12:00:00Z"
    assert world.status["url"] == "https://shop-pr-7.preview.apps.example.com"
    assert "shop_pr_7" in world.database.roles
    assert ("preview-shop-pr-7", "shop-pr-7-db") in world.cluster.secrets


def test_deleting_a_preview_drops_everything_and_its_namespace() -> None:
    world = World(preview())
    world.reconcile()
    world.delete()
    assert world.reconcile()
    assert not world.database.roles
    assert world.cluster.deleted_namespaces == ["preview-shop-pr-7"]


def test_a_refused_namespace_deletion_blocks_the_teardown_and_a_bug_is_not_taken_for_one() -> None:
    world = World(preview())
    world.reconcile()
    world.delete()
    world.cluster.namespace_error = PolicyRefusal("namespace 'x' is not a preview namespace")
    assert not world.reconcile()
    assert FINALIZER in world.obj["metadata"]["finalizers"]
    assert "namespace 'x' is not a preview namespace" in world.status["message"]
    world.cluster.namespace_error = ValueError("a bug")
    with pytest.raises(ValueError, match="a bug"):
        world.reconcile()


@pytest.mark.parametrize("policy", ["Retain", "Delete"])
def test_an_explicit_policy_wins_over_the_environment_default(policy: str) -> None:
    world = World(application(environment="production", deletionPolicy=policy))
    world.reconcile()
    world.delete()
    world.reconcile()
    assert ("shop_production" in world.database.roles) == (policy == "Retain")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def verifying_world(period: float = 3600.0) -> tuple[World, Clock]:
    clock = Clock()
    verifications = Verifications(dict.fromkeys(PROVISIONERS, period), clock)
    world = World(application(), verifications=verifications)
    assert world.reconcile()
    assert world.ensures() == (1, 1, 1)
    return world, clock


def test_within_the_verify_period_a_resync_calls_no_external_system() -> None:
    world, clock = verifying_world()
    status, writes = world.status, world.writes()
    clock.now = 1.0
    assert world.reconcile()
    assert world.ensures() == (1, 1, 1)
    assert world.status == status  # the same messages, no status write
    assert world.writes() == writes


def test_each_provisioner_verifies_again_once_per_period() -> None:
    world, clock = verifying_world()
    clock.now = 3600.0  # a whole period later every slot has come round once
    world.reconcile()
    assert world.ensures() == (2, 2, 2)
    world.reconcile()
    assert world.ensures() == (2, 2, 2)


def test_a_period_of_zero_verifies_on_every_reconcile() -> None:
    world, _ = verifying_world(period=0)
    world.reconcile()
    assert world.ensures() == (2, 2, 2)


def test_a_new_generation_verifies_at_once() -> None:
    world, _ = verifying_world()
    metadata = {**world.obj["metadata"], "generation": 2}
    world.cache.put(world.key, {**world.obj, "metadata": metadata})
    world.reconcile()
    assert world.ensures() == (2, 2, 2)


@pytest.mark.parametrize(
    ("store", "name", "verifies"),
    [
        ("secrets", "shop-db", (2, 1, 1)),
        ("config_maps", "shop-storage", (1, 2, 1)),
        ("secrets", "shop-auth", (1, 1, 2)),
    ],
)
def test_what_a_provisioner_made_in_the_cluster_gone_verifies_it_at_once(
    store: str, name: str, verifies: tuple[int, int, int]
) -> None:
    world, _ = verifying_world()
    del getattr(world.cluster, store)[("staging", name)]
    assert world.reconcile()
    assert world.ensures() == verifies
    assert ("staging", name) in getattr(world.cluster, store)


def test_a_failed_verification_is_not_trusted() -> None:
    world, clock = verifying_world()
    clock.now = 3600.0
    world.database.fail_with = ProvisionerError("DatabaseUnreachable", "down")
    assert not world.reconcile()
    world.database.fail_with = None
    assert world.reconcile()
    assert world.database.ensures == 3
    assert world.conditions()["DatabaseReady"] == ("True", "Provisioned")


def test_forgetting_an_app_verifies_it_at_once_and_teardown_forgets() -> None:
    world, _ = verifying_world()
    world.reconciler.verifications.forget(provisioner="auth")
    world.reconcile()
    assert world.ensures() == (1, 1, 2)
    world.delete()
    world.reconcile()
    assert len(world.reconciler.verifications) == 0
