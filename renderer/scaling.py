"""Replica management: HorizontalPodAutoscaler, PodDisruptionBudget and how the replicas
spread over zones and nodes (docs/workloads.md)."""

from __future__ import annotations

from typing import Any, Final

from renderer.plan import Plan

Manifest = dict[str, Any]

SPREAD_TOPOLOGY_KEYS: Final = ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
"""Replicas spread over zones first, then over nodes within them."""


def autoscaler(plan: Plan) -> Manifest | None:
    replicas = plan.replicas
    if not replicas.autoscaled:
        return None
    cpu = {"type": "Utilization", "averageUtilization": replicas.target_cpu}
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": plan.metadata(),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": plan.name},
            "minReplicas": replicas.min,
            "maxReplicas": replicas.max,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": cpu},
                }
            ],
        },
    }


def disruption_budget(plan: Plan) -> Manifest | None:
    """Only when at least two replicas always run; with one, a PDB would block node drains.
    `AlwaysAllow`: a pod that is not ready anyway (crash-looping) may always be evicted, so it
    cannot block a drain either."""
    if plan.replicas.min < 2:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": plan.metadata(),
        "spec": {
            "maxUnavailable": 1,
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
            "selector": {"matchLabels": plan.selector},
        },
    }


def topology_spread(plan: Plan) -> list[Manifest]:
    """Where more than one replica may run: at most one more pod in any zone (then node) than
    in another, as a preference (`ScheduleAnyway`: a full zone delays no pod). Only the pods of
    the same rollout count (`pod-template-hash`), so old pods leaving skew nothing."""
    if plan.replicas.max < 2:
        return []
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": plan.selector},
            "matchLabelKeys": ["pod-template-hash"],
        }
        for key in SPREAD_TOPOLOGY_KEYS
    ]
