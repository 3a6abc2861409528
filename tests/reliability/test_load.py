"""Load on the real stack with a real `plattr-controller` process: Applications (nine in ten
with a database, half with buckets, a fifth with auth) and previews created in bursts, a
fifth of the specs changed while they provision. Everything converges (every app Running at
its latest generation), nothing is lost or doubled (schemas, roles, buckets, realms and
Secrets counted against the specs), and no credential leaks. Time to converge, peak queue
depth, peak RSS and API requests per second are recorded, not asserted.

Full scale (500 apps, 100 previews) with PLATTR_LOAD=1 (`make reliability`); otherwise a
small scale (60 and 12) so every run exercises the same path."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from controller.kinds import NAMESPACE, SECRET
from controller.machinery.kube import Kube
from controller.machinery.objects import ApiResource
from devstack import wait_until
from devstack.controllers import NODE_CAPACITY, node_manifest
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
    platform_secrets,
    wait_all,
)
from tests.support.reliability_support import record
from tests.support.stack import LocalStack, room_in_staging

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.load]

FULL = os.environ.get("PLATTR_LOAD") == "1"
APPS = 500 if FULL else 60
PREVIEWS = 100 if FULL else 12
BURST = 50
IMAGE = "registry.example.test/shop:1.0.0"
SCALE = "full" if FULL else "small"
CONVERGE_TIMEOUT = 3600.0 if FULL else 900.0


def needs(index: int) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if index % 10 != 9:
        spec["database"] = {"enabled": True}
    if index % 2 == 0:
        spec["storage"] = {"enabled": True, "buckets": [{"name": "uploads"}]}
    if index % 5 == 0:
        spec["auth"] = {"enabled": True, "providers": ["github"]}
    return spec


def app_spec(index: int) -> dict[str, Any]:
    return {
        "framework": "python",
        "environment": "staging",
        "imageRef": IMAGE,
        "scaling": {"min": 1, "max": 1},
        **needs(index),
    }


def add_nodes(kube: Kube, pods: int) -> None:
    """kwok nodes enough for `pods` more pods (the stack's three hold 110 each)."""
    node = ApiResource("Node", "/api/v1", "nodes")
    capacity = int(NODE_CAPACITY["pods"])
    for index in range(-(-pods // capacity) + 1):
        name = f"kwok-load-{index}"
        if kube.get(f"{node.collection()}/{name}") is None:
            created = kube.create(node.collection(), node_manifest(name))
            assert created["metadata"]["name"] == name


class Sampler:
    """Samples the controller's queue depth and RSS every second while the load runs."""

    def __init__(self, controller: ControllerProcess) -> None:
        self.controller = controller
        self.peak_depth = 0.0
        self.peak_rss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.peak_depth = max(self.peak_depth, self.controller.total("workqueue_depth"))
            except AssertionError:
                continue
            status = Path(f"/proc/{self.controller.pid}/status")
            if status.exists():
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_rss_mb = max(self.peak_rss_mb, int(line.split()[1]) / 1024)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
def room_for_the_load(stack: LocalStack) -> Iterator[None]:
    """More apps in staging than its shipped quota admits pods for."""
    with room_in_staging(stack.control_plane, APPS):
        yield


@pytest.mark.usefixtures("room_for_the_load")
def test_apps_and_previews_in_bursts_with_changes_all_converge(
    stack: LocalStack, stack_dir: Path
) -> None:
    kube = Kube(stack.kube_api_client)
    ensure_provider_secret(kube)
    add_nodes(kube, APPS + PREVIEWS)
    env = {
        **controller_env(stack),
        "BASE_DOMAIN": BASE_DOMAIN,
        "OIDC_PROVIDER_ARN": OIDC_PROVIDER_ARN,
        "RESYNC_SECONDS": "600",
        "TTL_SWEEP_SECONDS": "3600",
        "WORKERS": "4",
    }
    run = uuid.uuid4().hex[:4]
    controller = ControllerProcess(f"load-{run}", env, stack_dir / "logs")
    try:
        controller.wait_ready()
        sampler = Sampler(controller)
        requests_before = controller.total("kube_api_requests_total")
        began = time.monotonic()

        apps = {Target(f"l{run}-{i:03d}", "staging"): app_spec(i) for i in range(APPS)}
        previews = {
            Target.preview(f"l{run}-{i:03d}", 1): {**app_spec(i), "scaling": {"min": 1, "max": 1}}
            for i in range(PREVIEWS)
        }
        changed: list[Target] = []
        app_list = list(apps)
        for start in range(0, APPS, BURST):
            for target in app_list[start : start + BURST]:
                apply_manifests(kube, rendered(apps[target], target.app))
            if start >= BURST:  # change a fifth of an earlier burst while it provisions
                for target in app_list[start - BURST : start - BURST + BURST // 5]:
                    apps[target] = {**apps[target], "port": 8001}
                    kube.merge_patch(
                        app_kind(target).item(target.namespace, target.app),
                        {"spec": {"port": 8001}},
                    )
                    changed.append(target)
            time.sleep(1)
        for target, spec in previews.items():
            manifests = rendered(spec, target.app, PreviewParams(pull_request=1))
            namespace = next(m for m in manifests if m["kind"] == "Namespace")
            kube.create(NAMESPACE.collection(), namespace)
            apply_manifests(kube, manifests, ("PreviewEnvironment", "ServiceAccount", "Deployment"))
        created = time.monotonic() - began

        everything = {**apps, **previews}

        def laggards() -> list[str]:
            late = []
            for target in everything:
                obj = kube.get(app_kind(target).item(target.namespace, target.instance)) or {}
                status = obj.get("status") or {}
                generation = obj.get("metadata", {}).get("generation")
                if status.get("phase") != "Running" or status.get("observedGeneration") != (
                    generation
                ):
                    late.append(f"{target.instance}={status.get('phase')}")
            return late

        wait_all(laggards, "every app and preview converged", CONVERGE_TIMEOUT, logs=controller.log)
        converged = time.monotonic() - began
        wait_until(lambda: controller.total("workqueue_depth") == 0, "queue drained", TIMEOUT)
        requests = controller.total("kube_api_requests_total") - requests_before
        sampler.stop()

        record(f"load.{SCALE}.apps", APPS)
        record(f"load.{SCALE}.previews", PREVIEWS)
        record(f"load.{SCALE}.specs_changed_while_provisioning", len(changed))
        record(f"load.{SCALE}.seconds_to_create", round(created, 1))
        record(f"load.{SCALE}.seconds_to_converge", round(converged, 1))
        record(f"load.{SCALE}.peak_queue_depth", sampler.peak_depth)
        record(f"load.{SCALE}.peak_rss_mb", round(sampler.peak_rss_mb, 1))
        record(f"load.{SCALE}.api_requests_per_second", round(requests / converged, 1))
        record(f"load.{SCALE}.api_requests", requests)

        # nothing lost, nothing doubled
        wanted = {
            "schemas": sum("database" in s for s in everything.values()),
            "buckets": sum("storage" in s for s in everything.values()),
            "realms": sum("auth" in s for s in everything.values()),
        }
        with psycopg.connect(stack.postgres.admin_url, autocommit=True) as conn:
            schemas = conn.execute(
                "SELECT count(*) FROM pg_namespace WHERE nspname LIKE %s", (f"l{run}%",)
            ).fetchone()
            roles = conn.execute(
                "SELECT count(*) FROM pg_roles WHERE rolname LIKE %s", (f"l{run}%",)
            ).fetchone()
        buckets = [
            b["Name"]
            for b in stack.moto.client("s3").list_buckets()["Buckets"]
            if b["Name"].startswith(f"plattr-l{run}-")
        ]
        realms = [
            r["realm"]
            for r in stack.keycloak.admin().get_realms()
            if r["realm"].startswith(f"l{run}")
        ]
        found = {
            "schemas": schemas[0] if schemas else 0,
            "buckets": len(buckets),
            "realms": len(realms),
        }
        assert found == wanted
        assert roles is not None
        assert roles[0] == 2 * wanted["schemas"]
        for target, spec in everything.items():
            for kind, key in (("db", "database"), ("auth", "auth")):
                exists = kube.get(SECRET.item(target.namespace, target.secret_name(kind)))
                assert (exists is not None) is (key in spec), (target, kind)
        sample = list(everything)[:: max(1, len(everything) // 40)]
        services = Services(kube, stack.postgres, stack.moto, stack.keycloak)
        leaked = leaks(services, [controller], sample, platform_secrets(services))
        assert not leaked, leaked
    finally:
        controller.stop()
