"""The controller's identity in the cluster and the grant a preview namespace gives it, defined
once. The chart binds its ServiceAccount (released as `plattr-operator` in `plattr-system`, the
names below: charts/plattr/README.md) and installs the ClusterRole `APP_OBJECTS_CLUSTER_ROLE`; the
renderer renders `preview_role_binding` into each preview namespace, so the controller may
write a preview's Secrets and ConfigMaps only once the namespace exists, and no longer than it
does (docs/tenancy.md, "The controller's privileges")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

CONTROLLER_SERVICE_ACCOUNT: Final = "plattr-operator"
CONTROLLER_NAMESPACE: Final = "plattr-system"
APP_OBJECTS_CLUSTER_ROLE: Final = "plattr-controller-app-objects"
PREVIEW_ROLE_BINDING: Final = "plattr-controller"


def preview_role_binding(namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """The RoleBinding that lets the controller manage the preview's Secrets and ConfigMaps."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": PREVIEW_ROLE_BINDING, "namespace": namespace, "labels": dict(labels)},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": APP_OBJECTS_CLUSTER_ROLE,
        },
        "subjects": [
            {
                "kind": "ServiceAccount",
                "name": CONTROLLER_SERVICE_ACCOUNT,
                "namespace": CONTROLLER_NAMESPACE,
            }
        ],
    }
