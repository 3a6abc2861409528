"""The kinds the controller watches, how to reach them on the API, and how objects are keyed."""

from __future__ import annotations

from typing import Any, Final, NamedTuple

from plattr.models import GROUP, VERSION

KubeObject = dict[str, Any]

FINALIZER: Final = f"{GROUP}/finalizer"
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
INSTANCE_LABEL: Final = "app.kubernetes.io/instance"
OWNER_KIND_LABEL: Final = f"{GROUP}/owner-kind"
PREVIEW_LABEL: Final = f"{GROUP}/preview"
CONTROLLER_MANAGER: Final = "plattr-controller"
"""`app.kubernetes.io/managed-by` of the Secrets and ConfigMaps the controller writes."""
RENDERER_MANAGER: Final = "plattr"
"""`app.kubernetes.io/managed-by` of the workloads the renderer writes (and Argo CD applies)."""


class Kind(NamedTuple):
    """A watched kind: its API path and the label selector that limits it to ours."""

    name: str
    api_prefix: str
    plural: str
    label_selector: str | None = None

    def collection(self, namespace: str | None = None) -> str:
        if namespace is None:
            return f"{self.api_prefix}/{self.plural}"
        return f"{self.api_prefix}/namespaces/{namespace}/{self.plural}"

    def item(self, namespace: str, name: str) -> str:
        return f"{self.collection(namespace)}/{name}"


APPLICATION: Final = Kind("Application", f"/apis/{GROUP}/{VERSION}", "applications")
PREVIEW: Final = Kind("PreviewEnvironment", f"/apis/{GROUP}/{VERSION}", "previewenvironments")
DEPLOYMENT: Final = Kind(
    "Deployment", "/apis/apps/v1", "deployments", f"{MANAGED_BY_LABEL}={RENDERER_MANAGER}"
)
SECRET: Final = Kind("Secret", "/api/v1", "secrets", f"{MANAGED_BY_LABEL}={CONTROLLER_MANAGER}")
CONFIG_MAP: Final = Kind(
    "ConfigMap", "/api/v1", "configmaps", f"{MANAGED_BY_LABEL}={CONTROLLER_MANAGER}"
)
NAMESPACE: Final = Kind("Namespace", "/api/v1", "namespaces")
EVENT: Final = Kind("Event", "/api/v1", "events")
LEASE: Final = Kind("Lease", "/apis/coordination.k8s.io/v1", "leases")

PLATTR_KINDS: Final = (APPLICATION, PREVIEW)
WATCHED_KINDS: Final = (APPLICATION, PREVIEW, DEPLOYMENT, SECRET, CONFIG_MAP)


class ObjectKey(NamedTuple):
    """What the cache and the work queue are keyed by."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"

    @classmethod
    def of(cls, kind: str, obj: KubeObject) -> ObjectKey:
        metadata = obj["metadata"]
        return cls(kind, metadata.get("namespace", ""), metadata["name"])


def generation(obj: KubeObject | None) -> int | None:
    if obj is None:
        return None
    value = obj["metadata"].get("generation")
    return int(value) if value is not None else None
