"""Kubernetes namespaces: the platform's own and the environments', each environment's with its
ResourceQuota and LimitRange from the environments declaration (plattr.namespaces holds the
policy; docs/environments.md explains it).

The environment namespaces carry the labels of charts/plattr/files/platform-namespaces.yaml
(their environment, Pod Security `restricted`), the file the local stack reads too."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource, RemovalPolicy
from aws_cdk import aws_eks as eks
from constructs import Construct

from plattr.environments import Environments
from plattr.namespaces import namespace_objects

from .repo_files import namespace_labels

SYSTEM_NAMESPACE = "plattr-system"
MANAGED_BY = {"app.kubernetes.io/managed-by": "plattr-cdk"}


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {**MANAGED_BY, **(labels or {})}},
    }


def system_namespace(scope: Construct, cluster: eks.ICluster) -> eks.KubernetesManifest:
    return eks.KubernetesManifest(
        scope, "SystemNamespace", cluster=cluster, manifest=[namespace(SYSTEM_NAMESPACE)]
    )


def environment_namespaces(
    scope: Construct, cluster: eks.ICluster, environments: Environments
) -> None:
    """One manifest per declared environment: its namespace, quota and LimitRange, retained
    when the environment leaves the declaration (a configuration change deletes nothing)."""
    for environment in environments:
        labels = namespace_labels(environment.name)
        manifest = eks.KubernetesManifest(
            scope,
            f"{environment.name.capitalize()}Namespace",
            cluster=cluster,
            manifest=namespace_objects(environment, labels, MANAGED_BY),
        )
        resource = manifest.node.default_child
        if isinstance(resource, CfnResource):
            resource.apply_removal_policy(RemovalPolicy.RETAIN)
