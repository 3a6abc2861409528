"""Which changes queue work: a new generation or a deletion, never a status write; the
Deployment, Secrets and ConfigMap of an app queue the app."""

from __future__ import annotations

from typing import Any

from controller.config import Settings
from controller.kinds import IDENTITY_PROVIDERS_SECRET
from controller.machinery.leader import NotLeader
from controller.machinery.objects import KubeObject, ObjectKey
from controller.metrics import Metrics
from controller.reconciler import Provisioners
from controller.runtime import RECONCILE_RETRIES, Controller
from controller.verification import PROVISIONERS
from tests.support.controller_fakes import application

KEY = ObjectKey("Application", "staging", "shop")


def controller(kube: Any = None) -> Controller:
    settings = Settings.from_env(
        {
            "BASE_DOMAIN": "apps.example.com",
            "AWS_REGION": "eu-west-1",
            "DB_ADMIN_URL": "postgresql://a:b@db/plattr",
            "DASHBOARD_AUTH": "none",
        }
    )
    return Controller(
        settings, kube=kube, provisioners=Provisioners(None, None, None), metrics=Metrics()
    )  # type: ignore[arg-type]


def drain(c: Controller) -> list[ObjectKey]:
    keys = []
    while (key := c.queue.get(timeout=0)) is not None:
        keys.append(key)
        c.queue.done(key)
    return keys


def with_(obj: KubeObject, version: str, **changes: Any) -> KubeObject:
    metadata = {**obj["metadata"], "resourceVersion": version, **changes.pop("metadata", {})}
    return {**obj, "metadata": metadata, **changes}


def test_a_status_write_queues_nothing_but_a_new_generation_does() -> None:
    c = controller()
    app = application()
    c.cache.put(KEY, app)
    c.handle_change(KEY, None, app)
    assert drain(c) == [KEY]
    status_only = with_(app, "2", status={"phase": "Running"})
    c.handle_change(KEY, app, status_only)
    assert drain(c) == []
    new_generation = with_(status_only, "3", metadata={"generation": 2})
    c.handle_change(KEY, status_only, new_generation)
    assert drain(c) == [KEY]


def test_deletion_requested_queues_the_app() -> None:
    c = controller()
    app = application()
    deleting = with_(app, "2", metadata={"deletionTimestamp": "2026-01-01T00:00:00Z"})
    c.handle_change(KEY, app, deleting)
    assert drain(c) == [KEY]


def test_a_new_generation_gets_a_fresh_set_of_retries() -> None:
    c = controller()
    app = application()
    for _ in range(4):
        c.queue.retry(KEY)
    c.handle_change(KEY, app, with_(app, "2", metadata={"generation": 2}))
    assert c.queue.failures(KEY) == 0


def test_changes_to_an_apps_deployment_and_secrets_queue_the_app() -> None:
    c = controller()
    c.cache.put(KEY, application())
    deployment = {"metadata": {"name": "shop", "namespace": "staging", "resourceVersion": "5"}}
    c.handle_change(ObjectKey("Deployment", "staging", "shop"), None, deployment)
    assert drain(c) == [KEY]
    labels = {"platform.internal/owner-kind": "Application", "platform.internal/owner-name": "shop"}
    secret = {
        "metadata": {
            "name": "shop-db",
            "namespace": "staging",
            "resourceVersion": "6",
            "labels": labels,
        }
    }
    c.handle_change(ObjectKey("Secret", "staging", "shop-db"), secret, None)
    assert drain(c) == [KEY]


def verified(c: Controller) -> None:
    for name in PROVISIONERS:
        c.reconciler.verifications.record("uid-shop", name, "1", "ok")


def test_a_changed_secret_of_an_app_verifies_it_again_a_deployment_change_does_not() -> None:
    c = controller()
    c.cache.put(KEY, application())
    verified(c)
    deployment = {"metadata": {"name": "shop", "namespace": "staging", "resourceVersion": "5"}}
    c.handle_change(ObjectKey("Deployment", "staging", "shop"), None, deployment)
    assert c.reconciler.verifications.current("uid-shop", "storage", "1") == "ok"
    labels = {"platform.internal/owner-kind": "Application", "platform.internal/owner-name": "shop"}
    config_map = {"metadata": {"name": "shop-storage", "namespace": "staging", "labels": labels}}
    c.handle_change(ObjectKey("ConfigMap", "staging", "shop-storage"), config_map, None)
    assert drain(c) == [KEY]
    assert len(c.reconciler.verifications) == 0


def test_a_changed_platform_secret_verifies_every_realm_again() -> None:
    c = controller()
    c.cache.put(KEY, application(auth=True))
    verified(c)
    secret = {"metadata": {"name": "plattr-identity-providers", "resourceVersion": "7"}}
    c.handle_change(
        ObjectKey(IDENTITY_PROVIDERS_SECRET, "plattr-system", "plattr-identity-providers"),
        None,
        secret,
    )
    assert drain(c) == [KEY]
    assert c.reconciler.verifications.current("uid-shop", "auth", "1") is None
    assert c.reconciler.verifications.current("uid-shop", "database", "1") == "ok"


def test_the_periodic_resync_spreads_the_apps_over_its_period() -> None:
    c = controller()
    keys = [ObjectKey("Application", "staging", f"shop-{n}") for n in range(20)]
    for key in keys:
        c.cache.put(key, application(key.name))
    c.spread_resync()
    assert c.queue.waiting == len(keys)  # each held back by its own offset, none at once
    assert drain(c) == []
    c.resync()  # a resync asked for (leadership won) queues every app at once
    assert sorted(drain(c)) == sorted(keys)


def test_the_watch_catching_up_with_our_own_write_queues_nothing() -> None:
    c = controller()
    c.cache.put(KEY, application())
    deployment = {"metadata": {"name": "shop", "namespace": "staging", "resourceVersion": "5"}}
    c.handle_change(ObjectKey("Deployment", "staging", "shop"), deployment, deployment)
    assert drain(c) == []


def test_a_failed_reconcile_is_retried_after_one_two_and_four_seconds() -> None:
    assert [RECONCILE_RETRIES.delay(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, None]
    c = controller()
    assert [c.queue.retry(KEY) for _ in range(4)] == [True, True, True, False]


class LosesTheLease:
    def reconcile(self, key: ObjectKey, *, final_attempt: bool) -> bool:
        raise NotLeader("this replica lost the leader lease; write skipped")


def test_a_reconcile_cut_short_by_losing_the_lease_is_neither_a_failure_nor_retried() -> None:
    c = controller()
    c.reconciler = LosesTheLease()  # type: ignore[assignment]
    c._reconcile(KEY)
    assert (c.queue.failures(KEY), c.queue.waiting) == (0, 0)
    failures = {"name": KEY.name, "result": "failure"}
    assert c.metrics.registry.get_sample_value("reconcile_total", failures) is None
