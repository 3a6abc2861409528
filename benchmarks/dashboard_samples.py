"""Cached Applications and PreviewEnvironments as the API server returns them, for the
dashboard's benchmark and unit tests (one builder, so both look at the same shapes)."""

from __future__ import annotations

import itertools
from typing import Any, Final

from controller.kinds import APPLICATION, PREVIEW
from controller.machinery.cache import ObjectCache
from controller.machinery.objects import KubeObject, ObjectKey
from plattr.environments import shipped
from plattr.models import API_VERSION

_versions = itertools.count(1)
CONDITIONS: Final = ("DatabaseReady", "StorageReady", "AuthReady", "DeploymentReady")
FAILURE: Final = {
    "type": "DatabaseReady",
    "status": "False",
    "reason": "DatabaseUnreachable",
    "message": "could not connect to the database server: connection refused",
    "lastTransitionTime": "2026-11-26T09:58:00Z",
}


def conditions(phase: str) -> list[dict[str, Any]]:
    """What the controller writes for `phase`: all True when Running, one failing else."""
    if phase == "Pending":
        return []
    ready = [
        {
            "type": kind,
            "status": "True",
            "reason": "Provisioned",
            "message": f"{kind[:-5].lower()} ready",
            "lastTransitionTime": "2026-11-26T09:55:00Z",
        }
        for kind in CONDITIONS
    ]
    return ready if phase == "Running" else [FAILURE, *ready[1:]]


def application(
    name: str,
    environment: str = "staging",
    phase: str = "Running",
    *,
    secrets: tuple[str, ...] = (),
) -> KubeObject:
    status: dict[str, Any] = {"phase": phase, "conditions": conditions(phase)}
    if secrets:
        status["secrets"] = list(secrets)
    return {
        "apiVersion": API_VERSION,
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": environment,
            "generation": 1,
            "resourceVersion": str(next(_versions)),
            "creationTimestamp": "2026-11-26T09:50:00Z",
        },
        "spec": {
            "framework": "python",
            "environment": environment,
            "imageRef": f"registry.example.com/team/{name}:1.4.2",
            "database": {"enabled": True},
            "storage": {"enabled": True, "buckets": [{"name": "uploads"}]},
            "auth": {"enabled": True, "providers": ["github"]},
            "scaling": {"min": 2, "max": 4},
        },
        "status": status,
    }


def preview(app: str, pull_request: int, phase: str = "Running", ttl: str = "72h") -> KubeObject:
    name = f"{app}-pr-{pull_request}"
    return {
        "apiVersion": API_VERSION,
        "kind": "PreviewEnvironment",
        "metadata": {
            "name": name,
            "namespace": f"preview-{name}",
            "generation": 1,
            "resourceVersion": str(next(_versions)),
            "creationTimestamp": "2026-11-26T09:00:00Z",
        },
        "spec": {
            "application": app,
            "pullRequest": pull_request,
            "imageRef": f"registry.example.com/team/{app}:pr-{pull_request}",
            "ttl": ttl,
        },
        "status": {"phase": phase, "conditions": conditions(phase)},
    }


def put(cache: ObjectCache, obj: KubeObject) -> ObjectKey:
    kind = APPLICATION if obj["kind"] == "Application" else PREVIEW
    key = ObjectKey.of(kind.name, obj)
    cache.put(key, obj)
    return key


def fill(cache: ObjectCache, count: int) -> None:
    """`count` Applications across the environments, about one in ten not Running."""
    phases = ("Running",) * 8 + ("Provisioning", "Failed")
    for n in range(count):
        put(cache, application(f"app-{n:04d}", shipped().names[n % 3], phases[n % len(phases)]))
