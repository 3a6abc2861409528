"""Kubernetes objects as the machinery sees them: plain JSON dicts, keyed by kind, namespace
and name, reached through an `ApiResource`'s paths."""

from __future__ import annotations

from typing import Any, Final, NamedTuple

KubeObject = dict[str, Any]
"""An object as the API server's JSON; never mutated in place once cached."""

KEPT_METADATA: Final = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "labels",
        "annotations",
        "finalizers",
    }
)
"""The metadata a cached copy keeps: not managedFields (every field manager's field set,
often larger than the object), ownerReferences or generateName."""
LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"
"""The annotation holding a whole copy of the object as `kubectl apply` last sent it."""


class ApiResource(NamedTuple):
    """A resource on the API: its kind, its path, and the label and field selectors that
    limit a list or a watch of it to the objects of interest (None: all of them)."""

    name: str
    """The kind, e.g. `Deployment`."""
    api_prefix: str
    """`/api/v1` for the core group, else `/apis/<group>/<version>`."""
    plural: str
    label_selector: str | None = None
    field_selector: str | None = None
    kept: tuple[str, ...] | None = None
    """What a cached copy keeps besides its metadata: fields (`data`) or fields of a field
    (`status.availableReplicas`); None keeps every field, () the metadata only."""

    def collection(self, namespace: str | None = None) -> str:
        """The path of every object (in `namespace`, if given)."""
        if namespace is None:
            return f"{self.api_prefix}/{self.plural}"
        return f"{self.api_prefix}/namespaces/{namespace}/{self.plural}"

    def item(self, namespace: str, name: str) -> str:
        """The path of one namespaced object."""
        return f"{self.collection(namespace)}/{name}"


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
    """`metadata.generation` (bumped by every spec change), or None."""
    if obj is None:
        return None
    value = obj["metadata"].get("generation")
    return int(value) if value is not None else None


def trimmed(obj: KubeObject, kept: tuple[str, ...] | None) -> KubeObject:
    """A new object holding what a reader of the cache may look at: `obj`'s KEPT_METADATA
    (without the LAST_APPLIED annotation) and the fields `kept` names (see `ApiResource`).
    `obj` itself is left as it is; what stays is shared with it, not copied."""
    metadata = {key: value for key, value in obj["metadata"].items() if key in KEPT_METADATA}
    annotations = metadata.get("annotations") or {}
    if LAST_APPLIED in annotations:
        metadata["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    if kept is None:
        return {**obj, "metadata": metadata}
    body: KubeObject = {}
    for path in kept:
        field, _, inner = path.partition(".")
        value = obj.get(field)
        if not inner:
            if value is not None:
                body[field] = value
        elif isinstance(value, dict) and inner in value:
            body.setdefault(field, {})[inner] = value[inner]
    return {**body, "metadata": metadata}
