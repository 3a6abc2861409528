"""The API server's own pushback, from the real kube-apiserver: API Priority and Fairness
holds the controller's ServiceAccount to a priority level with three seats, which rejects
what does not fit (429 with Retry-After) instead of queueing it, and another client of the
same account keeps two of those seats busy, as a neighbour sharing a priority level does. The
controller's client waits and sends again below the reconcile, so its apps reach Running with
no failed reconcile, and the 429s are counted as `external_throttled_total{service=
"kubernetes"}`. The API server's own metrics say it rejected requests of that level."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes.dynamic import DynamicClient
from prometheus_client.parser import text_string_to_metric_families

from controller.machinery.kube import Kube
from devstack.controlplane import ControlPlane, write_kubeconfig
from plattr.naming import Target
from tests.support.apply import apply
from tests.support.controller_harness import apply_manifests, controller_env, rendered, spec
from tests.support.fault_support import (
    ControllerProcess,
    not_yet_running,
    service_account_token,
    wait_all,
)
from tests.support.reliability_support import record
from tests.support.stack import LocalStack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

NAMESPACE = "default"
ACCOUNT = "plattr-throttled"
LEVEL = "plattr-test-throttled"
APPS = 12
WORKERS = "8"
NEIGHBOURS = 2
FLOWCONTROL = "flowcontrol.apiserver.k8s.io/v1"


def flow_control() -> list[dict[str, Any]]:
    """A ServiceAccount allowed everything (this is about throttling, not access) and held to
    a priority level with one nominal share of the server's concurrency (three seats beside
    the defaults' 245 shares), lending and borrowing none, rejecting what does not fit."""
    every = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": ACCOUNT, "namespace": NAMESPACE},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": ACCOUNT},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
            "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": NAMESPACE}],
        },
        {
            "apiVersion": FLOWCONTROL,
            "kind": "PriorityLevelConfiguration",
            "metadata": {"name": LEVEL},
            "spec": {
                "type": "Limited",
                "limited": {
                    "nominalConcurrencyShares": 1,
                    "lendablePercent": 0,
                    "borrowingLimitPercent": 0,
                    "limitResponse": {"type": "Reject"},
                },
            },
        },
        {
            "apiVersion": FLOWCONTROL,
            "kind": "FlowSchema",
            "metadata": {"name": LEVEL},
            "spec": {
                "priorityLevelConfiguration": {"name": LEVEL},
                "matchingPrecedence": 50,
                "distinguisherMethod": {"type": "ByUser"},
                "rules": [
                    {
                        "subjects": [
                            {
                                "kind": "ServiceAccount",
                                "serviceAccount": {"name": ACCOUNT, "namespace": NAMESPACE},
                            }
                        ],
                        "resourceRules": [{**every, "clusterScope": True, "namespaces": ["*"]}],
                        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                    }
                ],
            },
        },
    ]


def rejected_by_level(plane: ControlPlane) -> float:
    """The requests the API server has rejected at the test's priority level (its /metrics)."""
    answer = httpx.get(
        f"{plane.url}/metrics",
        headers={"Authorization": f"Bearer {plane.token}"},
        verify=plane.api.ssl_context(),
        timeout=10,
    )
    answer.raise_for_status()
    return sum(
        sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
        if sample.name == "apiserver_flowcontrol_rejected_requests_total"
        and sample.labels.get("priority_level") == LEVEL
    )


@contextmanager
def neighbour(plane: ControlPlane, token: str) -> Iterator[None]:
    """Another client of the throttled account: `NEIGHBOURS` threads listing Secrets one
    request after another (answered or refused) until the block ends."""
    stop = threading.Event()

    def busy() -> None:
        with httpx.Client(
            base_url=plane.url,
            headers={"Authorization": f"Bearer {token}"},
            verify=plane.api.ssl_context(),
            timeout=10,
        ) as client:
            while not stop.is_set():
                client.get(f"/api/v1/namespaces/{NAMESPACE}/secrets")

    threads = [threading.Thread(target=busy, daemon=True) for _ in range(NEIGHBOURS)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)


@pytest.fixture(scope="module")
def throttled_account(
    stack: LocalStack, kube_api_client: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, str]]:
    """A kubeconfig with a token (TokenRequest) of the throttled ServiceAccount, and the
    token; the flow control objects are removed after the module."""
    plane = stack.control_plane
    admin = DynamicClient(kube_api_client)
    objects = flow_control()
    for manifest in objects:
        apply(admin, manifest)
    token = service_account_token(Kube(kube_api_client), NAMESPACE, ACCOUNT)
    path = tmp_path_factory.mktemp("throttled") / "kubeconfig"
    write_kubeconfig(path, plane.url, token, plane.ca_file)
    yield path, token
    for manifest in reversed(objects):
        resource = admin.resources.get(api_version=manifest["apiVersion"], kind=manifest["kind"])
        resource.delete(
            name=manifest["metadata"]["name"], namespace=manifest["metadata"].get("namespace")
        )


def test_apps_reach_running_through_the_api_servers_429s(
    stack: LocalStack, stack_dir: Path, throttled_account: tuple[Path, str]
) -> None:
    plane = stack.control_plane
    kubeconfig, token = throttled_account
    kube = Kube(stack.kube_api_client)
    rejected_before = rejected_by_level(plane)
    env = {
        **controller_env(stack),
        "KUBECONFIG": str(kubeconfig),
        "WORKERS": WORKERS,
        "RESYNC_SECONDS": "3600",
    }
    controller = ControllerProcess(f"apf-{uuid.uuid4().hex[:4]}", env, stack_dir / "logs")
    try:
        controller.wait_ready()
        targets = [Target(f"apf-{uuid.uuid4().hex[:6]}", "staging") for _ in range(APPS)]
        app_spec = spec(auth={"enabled": False}, scaling={"min": 1, "max": 1})
        with neighbour(plane, token):
            for target in targets:
                apply_manifests(kube, rendered(app_spec, target.app))
            wait_all(
                lambda: not_yet_running(kube, targets),
                "apps Running through 429s",
                logs=controller.log,
            )
        counted = controller.total("external_throttled_total", service="kubernetes")
        rejected = rejected_by_level(plane) - rejected_before
        assert rejected > 0, "the API server rejected none of the controller's requests"
        assert counted > 0, counted
        assert controller.failed_reconciles(t.app for t in targets) == 0
        record("throttling.apiserver_rejected", rejected)
        record("throttling.kubernetes_counted", counted)
    finally:
        controller.stop()
