"""Faults on the real stack, with a real `plattr-controller` process: PostgreSQL, the S3
endpoint and Keycloak put out of reach (connections refused and reset, through a loopback
proxy), the API server's connections dropped and the API server restarted (its watch cache
starts afresh: 410 Gone). The affected condition goes False with a reason naming the
dependency, apps that do not need it stay Running, and once it is back every app reaches
Running untouched, with nothing duplicated, half-made or orphaned, no change lost, and no
credential in logs, Events, status or the dashboard. Durations are recorded, not asserted."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from controller.kinds import APPLICATION
from controller.machinery.kube import Kube
from devstack import ControlPlane
from plattr.naming import Target
from tests.support.controller_harness import (
    BASE_DOMAIN,
    OIDC_PROVIDER_ARN,
    apply_manifests,
    ensure_provider_secret,
    rendered,
)
from tests.support.fault_support import (
    ControllerProcess,
    Proxies,
    Proxy,
    Services,
    conditions,
    leaks,
    phase,
    platform_secrets,
    restart_apiserver,
    snapshot,
    wait_all,
)
from tests.support.reliability_support import record
from tests.support.stack import LocalStack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

IMAGE = "registry.example.test/shop:1.0.0"
NEEDS = {
    "postgres": ("DatabaseReady", "DatabaseUnreachable", "database"),
    "s3": ("StorageReady", "StorageUnreachable", "storage"),
    "keycloak": ("AuthReady", "AuthUnreachable", "auth"),
}


def spec(*needs: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "framework": "python",
        "environment": "staging",
        "imageRef": IMAGE,
        "scaling": {"min": 1, "max": 1},
        **overrides,
    }
    if "database" in needs:
        body["database"] = {"enabled": True}
    if "storage" in needs:
        body["storage"] = {"enabled": True, "buckets": [{"name": "uploads"}]}
    if "auth" in needs:
        body["auth"] = {"enabled": True, "providers": ["github"]}
    return body


@dataclass
class World:
    services: Services
    proxies: Proxies
    controller: ControllerProcess
    plane: ControlPlane
    apps: dict[Target, dict[str, Any]] = field(default_factory=dict)

    @property
    def kube(self) -> Kube:
        return self.services.kube

    def create(self, *needs: str, prefix: str = "flt") -> Target:
        target = Target(f"{prefix}-{uuid.uuid4().hex[:6]}", "staging")
        self.apps[target] = spec(*needs)
        apply_manifests(self.kube, rendered(self.apps[target], target.app))
        return target

    def change(self, target: Target, **overrides: Any) -> None:
        self.apps[target] = {**self.apps[target], **overrides}
        self.kube.merge_patch(
            APPLICATION.item(target.namespace, target.app), {"spec": self.apps[target]}
        )

    def delete(self, target: Target) -> None:
        del self.apps[target]
        self.kube.delete(APPLICATION.item(target.namespace, target.app))

    def not_running(self, targets: list[Target] | None = None) -> list[str]:
        return [
            f"{t.app}={phase(self.kube, APPLICATION, t.namespace, t.app)}"
            for t in (self.apps if targets is None else targets)
            if phase(self.kube, APPLICATION, t.namespace, t.app) != "Running"
        ]

    def not_observed(self) -> list[str]:
        """Apps whose latest generation the controller has not reconciled yet."""
        lagging = []
        for target in self.apps:
            obj = self.kube.get(APPLICATION.item(target.namespace, target.app)) or {}
            status = obj.get("status") or {}
            if status.get("observedGeneration") != obj.get("metadata", {}).get("generation"):
                lagging.append(target.app)
        return lagging

    def wait_running(self, what: str, targets: list[Target] | None = None) -> float:
        began = time.monotonic()
        wait_all(lambda: self.not_running(targets), what, logs=self.controller.log)
        return round(time.monotonic() - began, 1)

    def assert_whole(self) -> None:
        """Each app owns exactly what its spec asks, and its credentials work."""
        for target, body in self.apps.items():
            state = snapshot(self.services, target)
            assert state["phase"] == "Running", (target, state)
            assert state["observed"], (target, state)
            wants_db = "database" in body
            assert state["schemas"] == (["APP_staging:APP_staging"] if wants_db else []), state
            assert state["roles"] == (
                ["APP_staging:truefalsefalse", "APP_staging_anon:falsefalsefalse"]
                if wants_db
                else []
            ), state
            assert state.get("db_login", False) is wants_db, state
            wants_buckets = "storage" in body
            assert list(state["buckets"]) == (
                ["plattr-APP-staging-uploads"] if wants_buckets else []
            ), state
            wants_auth = "auth" in body
            assert state["realms"] == (["APP-staging"] if wants_auth else []), state
            if wants_auth:
                assert state["clients"] == 1, state
                assert state["idps"] == ["github"], state
                assert state["auth_secret_matches"] is True, state

    def assert_no_leaks(self) -> None:
        extra = platform_secrets(self.services)
        found = leaks(self.services, [self.controller], list(self.apps), extra)
        assert not found, found


@pytest.fixture(scope="module")
def world(stack: LocalStack, stack_dir: Path) -> Iterator[World]:
    kube = Kube(stack.kube_api_client)
    ensure_provider_secret(kube)
    proxies = Proxies(stack.control_plane, stack.postgres, stack.moto, stack.keycloak, stack_dir)
    env = {
        **proxies.env,
        "BASE_DOMAIN": BASE_DOMAIN,
        "OIDC_PROVIDER_ARN": OIDC_PROVIDER_ARN,
        "RESYNC_SECONDS": "10",
        "TTL_SWEEP_SECONDS": "3600",
        "WORKERS": "4",
    }
    controller = ControllerProcess(f"faults-{uuid.uuid4().hex[:4]}", env, stack_dir / "logs")
    services = Services(kube, stack.postgres, stack.moto, stack.keycloak)
    world = World(services, proxies, controller, stack.control_plane)
    try:
        controller.wait_ready()
        for needs in (("database", "storage", "auth"), ("database",), ("storage",), ()):
            world.create(*needs, prefix="base")
        record("faults.seconds_first_apps_running", world.wait_running("first apps Running"))
        yield world
    finally:
        controller.stop()
        proxies.close()


@pytest.mark.parametrize("dependency", sorted(NEEDS))
def test_a_dependency_down_fails_only_what_needs_it_and_all_recovers(
    world: World, dependency: str
) -> None:
    condition, reason, need = NEEDS[dependency]
    proxy: Proxy = getattr(world.proxies, dependency)
    others = [n for n in ("database", "storage", "auth") if n != need]
    proxy.cut()
    cut = time.monotonic()
    try:
        full = world.create("database", "storage", "auth")
        bystander = world.create(*others)
        world.change(next(t for t in world.apps if t.app.startswith("base")), port=8081)

        def not_failed_right() -> list[str]:
            found = conditions(world.kube, APPLICATION, full.namespace, full.app)
            wrong = []
            if found.get(condition, {}).get("status") != "False":
                wrong.append(f"{condition}={found.get(condition)}")
            elif found[condition]["reason"] != reason:
                wrong.append(f"{condition} reason {found[condition]['reason']}")
            for other in found.values():
                if other["type"] not in (condition, "DeploymentReady") and (
                    other["status"] != "True"
                ):
                    wrong.append(f"{other['type']} broke too: {other}")
            return wrong

        wait_all(not_failed_right, f"{condition} False ({reason})", logs=world.controller.log)
        message = conditions(world.kube, APPLICATION, full.namespace, full.app)[condition]
        assert message["message"], message
        world.wait_running(f"bystander Running while {dependency} is down", [bystander])
        assert world.controller.ready(), "the controller itself must keep serving"
        record(f"faults.{dependency}.seconds_to_condition_false", round(time.monotonic() - cut, 1))
    finally:
        proxy.restore()
    restored = time.monotonic()
    world.wait_running(f"every app Running after {dependency} came back")
    wait_all(world.not_observed, "every change observed", logs=world.controller.log)
    record(
        f"faults.{dependency}.seconds_to_all_running_after_restore",
        round(time.monotonic() - restored, 1),
    )
    world.assert_whole()
    world.assert_no_leaks()


def _changes(world: World, tag: str) -> list[tuple[str, Target]]:
    """Five creations, three spec changes, two deletions: each must be acted on."""
    made: list[tuple[str, Target]] = []
    bases = [t for t in world.apps if t.app.startswith("churn")]
    for _ in range(5):
        made.append(("create", world.create(prefix="churn")))
    for target in bases[:3]:
        world.change(target, port=8000 + len(tag) + int(time.time()) % 1000)
        made.append(("change", target))
    for target in bases[3:5]:
        world.delete(target)
        made.append(("delete", target))
    return made


def _acted_on(world: World, made: list[tuple[str, Target]]) -> list[str]:
    missing = []
    for action, target in made:
        obj = world.kube.get(APPLICATION.item(target.namespace, target.app))
        if action == "delete":
            if obj is not None:
                missing.append(f"{target.app} not deleted (finalizer left?)")
            continue
        status = (obj or {}).get("status") or {}
        if status.get("observedGeneration") != (obj or {}).get("metadata", {}).get("generation"):
            missing.append(f"{action} of {target.app} not observed")
        elif status.get("phase") != "Running":
            missing.append(f"{target.app} {status.get('phase')}")
    return missing


def test_dropped_watches_and_an_api_server_restart_lose_no_event(world: World) -> None:
    for _ in range(6):
        world.create(prefix="churn")
    world.wait_running("churn apps Running")
    expired_before = world.controller.log_text().count("watch expired")

    # 1. every connection to the API server reset, new ones refused, for 8 s
    world.proxies.apiserver.cut()
    made = _changes(world, "dropped")  # made directly, while the controller cannot see them
    time.sleep(8)
    world.proxies.apiserver.restore()
    wait_all(lambda: _acted_on(world, made), "changes made during dropped watches")
    record("faults.dropped_watch.changes_made", len(made))
    record("faults.dropped_watch.changes_acted_on", len(made) - len(_acted_on(world, made)))

    # 2. the API server itself restarted: the controller's watches resume from an old
    # resourceVersion into a fresh watch cache and get 410 Gone
    for _ in range(2):
        world.create(prefix="churn")
    world.wait_running("churn apps Running")
    down = restart_apiserver(world.plane, down_seconds=5)
    made = _changes(world, "restart")
    wait_all(lambda: _acted_on(world, made), "changes made after the API server restart")
    record("faults.apiserver_restart.seconds_down", round(down, 1))
    record("faults.apiserver_restart.changes_made", len(made))
    record("faults.apiserver_restart.changes_acted_on", len(made) - len(_acted_on(world, made)))
    expired = world.controller.log_text().count("watch expired") - expired_before
    record("faults.apiserver_restart.watch_expired_relists", expired)
    assert expired >= 1, "the restart should have expired a watch (410 Gone): none was seen"
    world.wait_running("every app Running after the API server restart")
    world.assert_whole()
    world.assert_no_leaks()
