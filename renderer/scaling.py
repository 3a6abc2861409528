"""Replica management: HorizontalPodAutoscaler and PodDisruptionBudget."""

from __future__ import annotations

from typing import Any

from renderer.plan import Plan

Manifest = dict[str, Any]


def autoscaler(plan: Plan) -> Manifest | None:
    if not plan.autoscaled:
        return None
    scaling = plan.spec.scaling
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": plan.metadata(),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": plan.name},
            "minReplicas": scaling.min,
            "maxReplicas": scaling.max,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": scaling.target_cpu},
                    },
                }
            ],
        },
    }


def disruption_budget(plan: Plan) -> Manifest | None:
    """Only when at least two replicas always run; with one, a PDB would block node drains."""
    if plan.is_preview or plan.spec.scaling.min < 2:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": plan.metadata(),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": plan.selector}},
    }
