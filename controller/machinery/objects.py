"""Kubernetes objects as the machinery sees them: plain JSON dicts, keyed by kind, namespace
and name, reached through an `ApiResource`'s paths."""

from __future__ import annotations

from typing import Any, NamedTuple

KubeObject = dict[str, Any]
"""An object as the API server's JSON; never mutated in place once cached."""


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
