"""The environments declaration on the real API server: helm refuses to retire an environment
that still has apps (the chart's guard, through `lookup`), and the quota and LimitRange each
declared namespace gets admit every pod the renderer makes (quota admission counted by the real
quota controller), where a quota with `limits.cpu` would refuse them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ApiException

from devstack import ControlPlane, wait_until
from devstack.controllers import KubeControllers
from plattr.environments import shipped
from renderer.options import RenderOptions
from renderer.pipeline import render_paths
from tests.support.apply import apply
from tests.support.chart import CHART, helm

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_APPS = sorted((ROOT / "gitops-repo-template" / "apps").glob("*/*"))
RELEASE, NAMESPACE = "envguard", "envguard-system"
SHIPPED: list[dict[str, Any]] = yaml.safe_load((CHART / "values.yaml").read_text())["environments"]
RETIRING = {"name": "retiring", "quota": {"pods": "10"}}


@pytest.fixture(scope="module")
def dynamic(kube_api_client: Any) -> DynamicClient:
    return DynamicClient(kube_api_client)


def upgrade(plane: ControlPlane, environments: list[dict[str, Any]]) -> tuple[int, str]:
    result = helm(
        *["upgrade", "--install", RELEASE, str(CHART), "-n", NAMESPACE, "--create-namespace"],
        *["--kubeconfig", str(plane.kubeconfig), "--skip-crds"],
        values={"environments": environments, "tenancyPolicy": {"enabled": False}},
    )
    return result.returncode, result.stderr


@pytest.fixture
def retiring_app(control_plane: ControlPlane, dynamic: DynamicClient) -> Iterator[dict[str, Any]]:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "retiring"}}
    apply(dynamic, namespace)
    app = yaml.safe_load((ROOT / "tests" / "fixtures" / "example-application.yaml").read_text())
    app["metadata"] = {"name": "docs-site", "namespace": "retiring"}
    app["spec"]["environment"] = "retiring"
    apply(dynamic, app)
    yield app
    helm("uninstall", RELEASE, "-n", NAMESPACE, "--kubeconfig", str(control_plane.kubeconfig))


def test_retiring_an_environment_with_apps_is_refused_until_they_are_gone(
    control_plane: ControlPlane, dynamic: DynamicClient, retiring_app: dict[str, Any]
) -> None:
    assert upgrade(control_plane, [*SHIPPED, RETIRING]) == (0, "")
    code, stderr = upgrade(control_plane, SHIPPED)
    assert code != 0
    assert (
        "environment retiring still has apps: retiring/docs-site; move or delete them first"
    ) in stderr
    # Renaming it is retiring it too.
    code, stderr = upgrade(control_plane, [*SHIPPED, {**RETIRING, "name": "retired"}])
    assert code != 0
    assert "environment retiring still has apps: retiring/docs-site" in stderr
    # Nothing was deleted, and the previous declaration still stands.
    config = dynamic.resources.get(api_version="v1", kind="ConfigMap").get(
        name=f"{RELEASE}-plattr-environments", namespace=NAMESPACE
    )
    assert "retiring" in config.data["environments.yaml"]
    applications = dynamic.resources.get(
        api_version="platform.internal/v1alpha1", kind="Application"
    )
    applications.delete(name="docs-site", namespace="retiring")
    assert upgrade(control_plane, SHIPPED) == (0, "")


def rendered_workloads() -> list[dict[str, Any]]:
    """What the renderer makes for the template's apps that the API server admits pods by."""
    options = RenderOptions(base_domain="apps.example.com", aws_account_id="123456789012")
    kinds = {"ServiceAccount", "Deployment"}
    return [
        manifest
        for app in TEMPLATE_APPS
        for manifest in render_paths([str(app)], options, recursive=False)
        if manifest["kind"] in kinds
    ]


def pod_of(deployment: dict[str, Any]) -> dict[str, Any]:
    template = deployment["spec"]["template"]
    metadata = {**template["metadata"], "name": f"{deployment['metadata']['name']}-probe"}
    metadata["namespace"] = deployment["metadata"]["namespace"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]}


def test_every_rendered_pod_is_admitted_under_the_declared_quota_and_limits(
    kube_controllers: KubeControllers, dynamic: DynamicClient
) -> None:
    quotas = dynamic.resources.get(api_version="v1", kind="ResourceQuota")
    for environment in shipped():
        (quota,) = quotas.get(namespace=environment.namespace_name).items
        assert dict(quota.status.hard) == environment.quota  # counted by the quota controller
    workloads = rendered_workloads()
    deployments = [m for m in workloads if m["kind"] == "Deployment"]
    assert {d["metadata"]["namespace"] for d in deployments} == set(shipped().names)
    for account in (m for m in workloads if m["kind"] == "ServiceAccount"):
        apply(dynamic, account)
    for deployment in deployments:
        admitted = apply(dynamic, pod_of(deployment), dry_run=True)
        for container in admitted.spec.containers:
            # The LimitRange filled what the renderer leaves out, so the quota can count it.
            assert container.resources.requests["cpu"]
            assert container.resources.limits["memory"]


def test_a_quota_on_limits_cpu_would_refuse_them(
    kube_controllers: KubeControllers, dynamic: DynamicClient
) -> None:
    """Why the declaration's quota holds no `limits.cpu`: the renderer sets no CPU limit."""
    namespace = "quota-limits-cpu"
    apply(dynamic, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "cpu-limits", "namespace": namespace},
        "spec": {"hard": {"limits.cpu": "8"}},
    }
    apply(dynamic, quota)
    quotas = dynamic.resources.get(api_version="v1", kind="ResourceQuota")
    deployment = next(m for m in rendered_workloads() if m["kind"] == "Deployment")
    pod = pod_of(deployment)
    pod["metadata"]["namespace"] = namespace
    pod["spec"].pop("serviceAccountName", None)
    wait_until(
        lambda: bool(quotas.get(name="cpu-limits", namespace=namespace).status.hard),
        "quota counted",
        60,
    )
    with pytest.raises(ApiException) as refused:
        apply(dynamic, pod, dry_run=True)
    assert "must specify limits.cpu" in str(refused.value.body)
