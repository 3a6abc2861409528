"""Every golden render (tests/golden/<env>/<app>.yaml) passes the real API server's
server-side dry-run apply, and applied for real its Deployment becomes available; then it is
deleted again."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError

from devstack import KubeControllers, wait_until
from tests.support.apply import apply

pytestmark = pytest.mark.stack

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
RENDERS = sorted(GOLDEN.rglob("*.yaml"))
ROLLOUT_TIMEOUT = 60.0


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.fixture(scope="module")
def dynamic(kube_api_client: Any) -> Iterator[DynamicClient]:
    """The client; afterwards what the renders applied is deleted, so no later module's
    controller finds these Applications (whose Secrets and services nobody made) to fail."""
    client = DynamicClient(kube_api_client)
    yield client
    for render in RENDERS:
        for doc in reversed(_documents(render)):
            resource = client.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
            with contextlib.suppress(NotFoundError):
                resource.delete(
                    name=doc["metadata"]["name"], namespace=doc["metadata"]["namespace"]
                )


@pytest.mark.parametrize("render", RENDERS, ids=lambda p: str(p.relative_to(GOLDEN)))
def test_golden_render_passes_server_side_dry_run(dynamic: DynamicClient, render: Path):
    for doc in _documents(render):
        applied = apply(dynamic, doc, dry_run=True)
        assert applied.metadata.name == doc["metadata"]["name"]


@pytest.mark.parametrize("render", RENDERS, ids=lambda p: str(p.relative_to(GOLDEN)))
def test_golden_render_applied_becomes_available(
    kube_controllers: KubeControllers, dynamic: DynamicClient, render: Path
):
    docs = _documents(render)
    for doc in docs:
        apply(dynamic, doc)
    deployments = dynamic.resources.get(api_version="apps/v1", kind="Deployment")
    for doc in (d for d in docs if d["kind"] == "Deployment"):
        name, namespace = doc["metadata"]["name"], doc["metadata"]["namespace"]

        def available(name: str = name, namespace: str = namespace) -> bool:
            status = deployments.get(name=name, namespace=namespace).status
            wanted = status.replicas or 0
            return wanted > 0 and status.availableReplicas == wanted

        wait_until(
            available, f"{namespace}/{name} available", ROLLOUT_TIMEOUT, *kube_controllers.services
        )
