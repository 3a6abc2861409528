"""The controller killed and frozen on the real stack.

SIGKILL at random points of provisioning, 20 times in a row, restarted each time, with new
apps and spec changes arriving between kills: the end state of every app (schema, roles,
buckets, IAM role, realm, client, Secrets, status) equals that of a twin provisioned by an
uninterrupted run, and its credentials work.

Leader loss: two replicas; the leader frozen (SIGSTOP) past its Lease while apps arrive; the
standby takes over and provisions them; the old leader, woken (SIGCONT) with those events
waiting in its watches, writes nothing. Durations are recorded, not asserted."""

from __future__ import annotations

import json
import os
import random
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from controller.config import LEASE_NAME
from controller.kinds import APPLICATION, CONFIG_MAP, LEASE, NAMESPACE, PREVIEW, SECRET
from controller.machinery.kube import Kube
from devstack import wait_until
from plattr.naming import Target
from renderer.options import PreviewParams
from tests.support.controller_harness import (
    BASE_DOMAIN,
    OIDC_PROVIDER_ARN,
    apply_manifests,
    controller_env,
    ensure_provider_secret,
    rendered,
)
from tests.support.fault_support import (
    TIMEOUT,
    ControllerProcess,
    Services,
    app_kind,
    leaks,
    phase,
    platform_secrets,
    snapshot,
    wait_all,
)
from tests.support.reliability_support import record
from tests.support.stack import LocalStack, room_in_staging

pytestmark = [pytest.mark.stack, pytest.mark.slow]

KILLS = 20
LEASE_NAMESPACE = "plattr-system"
IMAGE = "registry.example.test/shop:1.0.0"
SPECS: list[dict[str, Any]] = [
    {"database": {"enabled": True}},
    {
        "storage": {
            "enabled": True,
            "buckets": [{"name": "uploads"}, {"name": "cdn", "public": True}],
        }
    },
    {"auth": {"enabled": True, "providers": ["github"]}},
    {
        "database": {"enabled": True},
        "storage": {"enabled": True, "buckets": [{"name": "uploads"}]},
        "auth": {"enabled": True, "providers": ["github"]},
    },
]
"""Each cycle adds one app of the next kind, and grows an earlier one by a bucket."""


def full_spec(extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "framework": "python",
        "environment": "staging",
        "imageRef": IMAGE,
        "scaling": {"min": 1, "max": 1},
        **json.loads(json.dumps(extra)),
    }


def apply(kube: Kube, target: Target, body: dict[str, Any]) -> None:
    """Create the app (or its preview, with its namespace), as Argo CD would."""
    if target.is_preview:
        pull_request = int(target.env.removeprefix("pr-"))
        manifests = rendered(body, target.app, PreviewParams(pull_request=pull_request))
        namespace = next(m for m in manifests if m["kind"] == "Namespace")
        if kube.get(f"{NAMESPACE.collection()}/{target.namespace}") is None:
            kube.create(NAMESPACE.collection(), namespace)
        apply_manifests(kube, manifests, ("PreviewEnvironment", "ServiceAccount", "Deployment"))
    else:
        apply_manifests(kube, rendered(body, target.app))


def grow(kube: Kube, target: Target, body: dict[str, Any]) -> None:
    """Add a bucket (an additive change: the end state depends on the final spec only)."""
    storage = body.setdefault("storage", {"enabled": True, "buckets": []})
    storage["buckets"].append({"name": f"more{len(storage['buckets'])}"})
    kind = app_kind(target)
    patch = {"spec": {"storage": storage}}
    kube.merge_patch(kind.item(target.namespace, target.instance), patch)


@pytest.fixture
def services(stack: LocalStack) -> Services:
    kube = Kube(stack.kube_api_client)
    ensure_provider_secret(kube)
    return Services(kube, stack.postgres, stack.moto, stack.keycloak)


@pytest.fixture
def room_for_the_kill_test(stack: LocalStack) -> Iterator[None]:
    """32 apps in staging at once (the killed run and its twins): more than its shipped quota
    admits pods for."""
    with room_in_staging(stack.control_plane, 2 * KILLS):
        yield


@pytest.fixture
def env(stack: LocalStack) -> dict[str, str]:
    return {
        **controller_env(stack),
        "BASE_DOMAIN": BASE_DOMAIN,
        "OIDC_PROVIDER_ARN": OIDC_PROVIDER_ARN,
        "RESYNC_SECONDS": "30",
        "TTL_SWEEP_SECONDS": "3600",
    }


@pytest.fixture
def started(stack_dir: Path) -> Iterator[list[ControllerProcess]]:
    processes: list[ControllerProcess] = []
    yield processes
    for process in processes:
        process.stop()


def not_running(kube: Kube, targets: list[Target]) -> list[str]:
    return [
        f"{t.instance}={phase(kube, app_kind(t), t.namespace, t.instance)}"
        for t in targets
        if phase(kube, app_kind(t), t.namespace, t.instance) != "Running"
    ]


@pytest.mark.usefixtures("room_for_the_kill_test")
def test_twenty_sigkills_mid_provisioning_end_as_an_uninterrupted_run(
    services: Services, env: dict[str, str], stack_dir: Path, started: list[ControllerProcess]
) -> None:
    seed = int(os.environ.get("PLATTR_KILL_SEED") or random.randrange(1_000_000))  # noqa: S311
    record("kill.seed", seed)  # PLATTR_KILL_SEED=<seed> replays the same kill points
    chance = random.Random(seed)  # noqa: S311 - kill points, not secrets
    run = uuid.uuid4().hex[:4]
    killed: dict[Target, dict[str, Any]] = {}
    kill_points: list[float] = []
    for cycle in range(KILLS):
        name = f"k{run}-{cycle:02d}"
        target = Target.preview(name, 3) if cycle % 5 == 4 else Target(name, "staging")
        killed[target] = full_spec(SPECS[cycle % len(SPECS)])
        apply(services.kube, target, killed[target])
        if cycle >= 2:
            earlier = list(killed)[chance.randrange(cycle)]
            grow(services.kube, earlier, killed[earlier])
        controller = ControllerProcess(f"kill-{run}-{cycle:02d}", env, stack_dir / "logs")
        started.append(controller)
        controller.wait_ready()
        point = chance.uniform(0.2, 4.0)
        time.sleep(point)
        kill_points.append(round(point, 2))
        controller.kill()
    record("kill.kills", KILLS)
    record("kill.seconds_after_ready", kill_points)

    survivor = ControllerProcess(f"kill-{run}-final", env, stack_dir / "logs")
    started.append(survivor)
    survivor.wait_ready()
    began = time.monotonic()
    wait_all(
        lambda: not_running(services.kube, list(killed)), "killed run converges", logs=survivor.log
    )
    record("kill.seconds_to_converge_after_last_kill", round(time.monotonic() - began, 1))

    twins: dict[Target, dict[str, Any]] = {}
    for target, body in killed.items():
        twin = Target(target.app.replace(f"k{run}", f"u{run}"), target.env)
        twins[twin] = body
        apply(services.kube, twin, body)
    wait_all(
        lambda: not_running(services.kube, list(twins)),
        "uninterrupted twins run",
        logs=survivor.log,
    )
    wait_until(lambda: _quiet(survivor), "controller idle", TIMEOUT)

    differences = []
    for (target, _), twin in zip(killed.items(), twins, strict=True):
        interrupted = snapshot(services, target)
        uninterrupted = snapshot(services, twin)
        if interrupted != uninterrupted:
            differences.append(
                {"app": target.instance, "killed": interrupted, "twin": uninterrupted}
            )
        assert interrupted.get("db_login", True) is True, interrupted
        assert interrupted.get("auth_secret_matches", True) is True, interrupted
    assert not differences, json.dumps(differences, indent=1)[:6000]
    # a resync after all this has nothing left to do for these apps: their objects keep
    # their resourceVersions and no DDL or realm change is logged (counted per app, since
    # other tests' apps may share the cluster)
    apps = [*killed, *twins]
    versions = _versions(services.kube, apps)
    offset = len(survivor.log_text())
    resyncs = _reconciles(survivor, apps)

    def all_resynced() -> bool:
        now = _reconciles(survivor, apps)
        return all(now[name] > count for name, count in resyncs.items())

    wait_until(all_resynced, "a resync of every app", TIMEOUT)
    wait_until(lambda: _quiet(survivor), "controller idle after the resync", TIMEOUT)
    assert _versions(services.kube, apps) == versions, "a resync after the kills still wrote"
    changes = [
        line
        for line in survivor.log_text()[offset:].splitlines()
        for t in apps
        if f"database: {t.schema}:" in line or f"auth: realm {t.realm} " in line
    ]
    assert not changes, changes[:5]
    extra = platform_secrets(services)
    found = leaks(services, started[-1:], [*killed, *twins], extra)
    assert not found, found


def _versions(kube: Kube, targets: list[Target]) -> dict[str, str | None]:
    """resourceVersion of each app and of the Secrets and ConfigMap the controller wrote."""
    found: dict[str, str | None] = {}
    for t in targets:
        paths = [
            app_kind(t).item(t.namespace, t.instance),
            SECRET.item(t.namespace, t.secret_name("db")),
            SECRET.item(t.namespace, t.secret_name("auth")),
            CONFIG_MAP.item(t.namespace, t.config_map_name("storage")),
        ]
        for path in paths:
            found[path] = ((kube.get(path) or {}).get("metadata") or {}).get("resourceVersion")
    return found


def _reconciles(controller: ControllerProcess, targets: list[Target]) -> dict[str, float]:
    samples = controller.metrics()
    counts = dict.fromkeys((t.instance for t in targets), 0.0)
    for (name, labels), value in samples.items():
        app = dict(labels).get("name")
        if name == "reconcile_total" and app in counts:
            counts[app] += value
    return counts


def _quiet(controller: ControllerProcess) -> bool:
    return controller.total("workqueue_depth") == 0


def _settled(controller: ControllerProcess, seconds: float = 2.0) -> bool:
    """Idle, and no write for `seconds`."""
    writes = controller.writes()
    time.sleep(seconds)
    return _quiet(controller) and controller.writes() == writes


# --- leader loss ---------------------------------------------------------------------------


def holder(kube: Kube) -> str | None:
    lease = kube.get(LEASE.item(LEASE_NAMESPACE, LEASE_NAME)) or {}
    value: str | None = (lease.get("spec") or {}).get("holderIdentity")
    return value


def lease_time(kube: Kube, field: str) -> datetime:
    lease = kube.get(LEASE.item(LEASE_NAMESPACE, LEASE_NAME)) or {}
    return datetime.fromisoformat(lease["spec"][field].replace("Z", "+00:00"))


def test_a_frozen_leader_is_replaced_and_writes_nothing_when_it_wakes(
    services: Services, env: dict[str, str], stack_dir: Path, started: list[ControllerProcess]
) -> None:
    kube = services.kube
    if kube.get(f"{NAMESPACE.collection()}/{LEASE_NAMESPACE}") is None:
        kube.create(NAMESPACE.collection(), {"metadata": {"name": LEASE_NAMESPACE}})
    kube.delete(LEASE.item(LEASE_NAMESPACE, LEASE_NAME))
    lease_seconds = 8
    leader_env = {
        **env,
        "LEADER_ELECTION": "true",
        "LEASE_NAMESPACE": LEASE_NAMESPACE,
        "LEASE_DURATION_SECONDS": str(lease_seconds),
        "LEASE_RENEW_SECONDS": "2",
        "LEASE_RETRY_SECONDS": "1",
    }
    run = uuid.uuid4().hex[:4]
    first = ControllerProcess(f"lead-{run}-a", leader_env, stack_dir / "logs")
    started.append(first)
    wait_until(lambda: holder(kube) == first.name and first.ready(), "first leads", TIMEOUT)
    second = ControllerProcess(f"lead-{run}-b", leader_env, stack_dir / "logs")
    started.append(second)
    second.wait_ready()

    def new_app(suffix: str) -> Target:
        target = Target(f"ld{run}-{suffix}", "staging")
        apply(kube, target, full_spec(SPECS[3]))
        return target

    before = [new_app("before")]
    wait_all(lambda: not_running(kube, before), "app Running under the first leader")
    # Settled, not only an empty queue: a write still in flight between the count and the
    # freeze would be charged to the woken leader.
    wait_until(lambda: _settled(first), "first leader idle, its writes settled", TIMEOUT)
    writes_before_freeze = first.writes()

    first.signal(signal.SIGSTOP)
    frozen = time.monotonic()
    last_renewal = lease_time(kube, "renewTime")
    during = [new_app(f"during{n}") for n in range(3)]  # events wait in the frozen watches
    wait_until(lambda: holder(kube) == second.name, "standby takes the lease", TIMEOUT)
    takeover = (lease_time(kube, "acquireTime") - last_renewal).total_seconds()
    record("leader.lease_duration_seconds", lease_seconds)
    record("leader.seconds_from_last_renewal_to_takeover", round(takeover, 2))
    record("leader.seconds_from_freeze_to_takeover", round(time.monotonic() - frozen, 2))
    wait_all(lambda: not_running(kube, during), "apps Running under the new leader")
    time.sleep(lease_seconds)  # frozen well past its lease

    first.signal(signal.SIGCONT)
    after = [new_app(f"after{n}") for n in range(2)]
    wait_all(lambda: not_running(kube, after), "apps created after the wake Running")
    wait_until(lambda: first.get("/metrics") is not None, "old leader answers again", TIMEOUT)
    wait_until(lambda: _quiet(second), "new leader idle", TIMEOUT)
    time.sleep(2 * lease_seconds)
    assert holder(kube) == second.name
    assert first.total("leader") == 0
    woken_writes = first.writes() - writes_before_freeze
    record("leader.writes_by_the_woken_leader", woken_writes)
    assert woken_writes == 0, f"the old leader wrote {woken_writes} times after waking"
    kinds = {t: app_kind(t) for t in [*before, *during, *after]}
    assert all(k is APPLICATION for k in kinds.values())
    assert PREVIEW not in kinds.values()
