"""Apply order: what others depend on first (as Helm's and kustomize's install orders do)."""

from __future__ import annotations

from typing import Any, Final

APPLY_ORDER: Final = (
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "PersistentVolumeClaim",
    "Role",
    "RoleBinding",
    "Service",
    "Deployment",
    "StatefulSet",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Ingress",
)
_RANK: Final = {kind: rank for rank, kind in enumerate(APPLY_ORDER)}


def sort_for_apply(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Known kinds in `APPLY_ORDER`, then the rest (custom resources) in the order given."""
    return sorted(manifests, key=lambda m: _RANK.get(m.get("kind", ""), len(APPLY_ORDER)))
