"""What each declared environment's namespace holds: the Namespace with its labels, the
ResourceQuota (the declaration's `quota`) and the LimitRange (its `limits`). The CDK app creates
them on EKS and the local platform on its API server, both from this module, so admission is
the same everywhere.

The policy (docs/environments.md, "Quota and limits"): the quota caps requests, memory limits,
pods and claims, never `limits.cpu` (the renderer sets no CPU limit: it throttles); the
LimitRange gives every container that says nothing a CPU and memory request and a memory
limit, so that quota admission never refuses a pod for a missing value. The declaration's
checks (`plattr.environments`) refuse a quota on a resource the LimitRange does not default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from plattr.environments import Environment

QUOTA_NAME: Final = "plattr-quota"
LIMIT_RANGE_NAME: Final = "plattr-limits"

Manifest = dict[str, Any]


def namespace(environment: Environment, labels: Mapping[str, str]) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": environment.namespace_name, "labels": dict(labels)},
    }


def resource_quota(environment: Environment, labels: Mapping[str, str]) -> Manifest | None:
    if not environment.quota:
        return None
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": _metadata(QUOTA_NAME, environment, labels),
        "spec": {"hard": dict(environment.quota)},
    }


def limit_range(environment: Environment, labels: Mapping[str, str]) -> Manifest | None:
    limits = environment.limits
    container = {
        key: dict(amounts)
        for key, amounts in (
            ("defaultRequest", limits.default_request),
            ("default", limits.default),
            ("max", limits.max),
        )
        if amounts
    }
    if not container:
        return None
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": _metadata(LIMIT_RANGE_NAME, environment, labels),
        "spec": {"limits": [{"type": "Container", **container}]},
    }


def namespace_objects(
    environment: Environment, labels: Mapping[str, str], managed: Mapping[str, str]
) -> list[Manifest]:
    """The Namespace (with `labels` and `managed`), then its quota and LimitRange (with
    `managed`) when the environment declares them."""
    made = [
        namespace(environment, {**managed, **labels}),
        resource_quota(environment, managed),
        limit_range(environment, managed),
    ]
    return [manifest for manifest in made if manifest is not None]


def _metadata(name: str, environment: Environment, labels: Mapping[str, str]) -> Manifest:
    return {"name": name, "namespace": environment.namespace_name, "labels": dict(labels)}
