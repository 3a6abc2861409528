"""Kubernetes namespaces: the platform's own and the environments', with resource quotas.

The environment namespaces carry the labels of charts/plattr/files/platform-namespaces.yaml
(their environment, Pod Security `restricted`), the file the local stack reads too."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_eks as eks
from constructs import Construct

from .repo_files import namespace_labels

SYSTEM_NAMESPACE = "plattr-system"
MANAGED_BY = {"app.kubernetes.io/managed-by": "plattr-cdk"}

# Hard limits per environment namespace (see cdk/README.md, "Resource quotas").
QUOTAS: dict[str, dict[str, str]] = {
    "production": {
        "requests.cpu": "8",
        "requests.memory": "16Gi",
        "limits.cpu": "16",
        "limits.memory": "32Gi",
        "pods": "100",
        "persistentvolumeclaims": "20",
    },
    "staging": {
        "requests.cpu": "4",
        "requests.memory": "8Gi",
        "limits.cpu": "8",
        "limits.memory": "16Gi",
        "pods": "50",
        "persistentvolumeclaims": "10",
    },
    "uat": {
        "requests.cpu": "4",
        "requests.memory": "8Gi",
        "limits.cpu": "8",
        "limits.memory": "16Gi",
        "pods": "50",
        "persistentvolumeclaims": "10",
    },
}


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {**MANAGED_BY, **(labels or {})}},
    }


def resource_quota(name: str, hard: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": f"{name}-quota", "namespace": name, "labels": dict(MANAGED_BY)},
        "spec": {"hard": dict(hard)},
    }


def system_namespace(scope: Construct, cluster: eks.ICluster) -> eks.KubernetesManifest:
    return eks.KubernetesManifest(
        scope, "SystemNamespace", cluster=cluster, manifest=[namespace(SYSTEM_NAMESPACE)]
    )


def environment_namespaces(scope: Construct, cluster: eks.ICluster) -> None:
    for name, hard in QUOTAS.items():
        eks.KubernetesManifest(
            scope,
            f"{name.capitalize()}Namespace",
            cluster=cluster,
            manifest=[namespace(name, namespace_labels(name)), resource_quota(name, hard)],
        )
