"""The Plattr resources themselves, which Argo CD applies for the controller to see, and a
preview's own Namespace."""

from __future__ import annotations

from typing import Any, Final

import msgspec

from plattr.models import API_VERSION
from renderer.options import PreviewParams
from renderer.plan import Plan

Manifest = dict[str, Any]

POD_SECURITY_LABELS: Final = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
}
"""A preview namespace's Pod Security labels: those of the environment namespaces
(charts/plattr/files/platform-namespaces.yaml; tests/unit/test_namespace_labels.py)."""


def application(plan: Plan) -> Manifest:
    """The Application as applied: canonical spec (defaults omitted), platform labels."""
    source = plan.app.metadata
    metadata: Manifest = {
        "name": source.name,
        "namespace": plan.namespace,
        "labels": {**source.labels, **plan.labels},
    }
    if source.annotations:
        metadata["annotations"] = dict(source.annotations)
    return {
        "apiVersion": API_VERSION,
        "kind": "Application",
        "metadata": metadata,
        "spec": _pruned(msgspec.to_builtins(plan.spec)),
    }


def preview_namespace(plan: Plan) -> Manifest:
    labels = {**plan.labels, **POD_SECURITY_LABELS}
    metadata = {"name": plan.namespace, "labels": labels}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def preview_environment(plan: Plan, preview: PreviewParams) -> Manifest:
    spec = plan.spec
    fields: Manifest = {
        "application": plan.app.metadata.name,
        "pullRequest": preview.pull_request,
        "headSha": preview.head_sha,
        "imageRef": plan.image,
        "ttl": preview.ttl,
        "database": msgspec.to_builtins(spec.database),
        "storage": msgspec.to_builtins(spec.storage),
        "auth": msgspec.to_builtins(spec.auth),
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "PreviewEnvironment",
        "metadata": plan.metadata(),
        "spec": _pruned(fields),
    }


def _pruned(value: Any) -> Any:
    """Drop `None`s and the empty mappings that defaults leave, so output stays minimal."""
    if isinstance(value, dict):
        pruned = {k: _pruned(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in pruned.items() if v != {}}
    if isinstance(value, list):
        return [_pruned(item) for item in value]
    return value
