"""The chart's templates, for the defaults and for the CDK's values, pass the real API
server's server-side dry-run (schemas, defaulting, RBAC objects, the PDB, the NetworkPolicy)."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.dynamic import DynamicClient

from tests.support.chart import CDK_VALUES, NAMESPACE, render_chart

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def dynamic(kube_api_client: Any) -> DynamicClient:
    client = DynamicClient(kube_api_client)
    namespaces = client.resources.get(api_version="v1", kind="Namespace")
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    namespaces.server_side_apply(body=body, name=NAMESPACE, field_manager="plattr-tests")
    return client


@pytest.mark.parametrize("values", [{}, CDK_VALUES], ids=["defaults", "cdk"])
def test_chart_passes_server_side_dry_run(dynamic: DynamicClient, values: dict[str, Any]) -> None:
    manifests = render_chart(values)
    assert {m["kind"] for m in manifests} >= {
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Service",
        "Deployment",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }
    for manifest in manifests:
        resource = dynamic.resources.get(api_version=manifest["apiVersion"], kind=manifest["kind"])
        applied = resource.server_side_apply(
            body=manifest,
            name=manifest["metadata"]["name"],
            namespace=manifest["metadata"].get("namespace"),
            field_manager="plattr-tests",
            dry_run="All",
        )
        assert applied.metadata.name == manifest["metadata"]["name"]
