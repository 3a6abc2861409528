"""The local stack as one fixture value, for the tests that need every component."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import yaml

from devstack import ControlPlane, Keycloak, KubeControllers, Moto, Postgres
from devstack.controlplane import redeclare
from plattr.environments import load


@dataclass(frozen=True)
class LocalStack:
    """What the `stack` fixture (tests/conftest.py) holds: each member is the session's
    per-component fixture of the same name, started on first use."""

    control_plane: ControlPlane
    kube_controllers: KubeControllers
    postgres: Postgres
    moto: Moto
    keycloak: Keycloak
    kube_api_client: Any


def remove_workloads(plane: ControlPlane) -> None:
    """Delete every Deployment in the declared environments' namespaces (their pods follow by
    garbage collection), so the quota each namespace has counts none of them any more."""
    for environment in load(plane.environments_file):
        collection = f"/apis/apps/v1/namespaces/{environment.namespace_name}/deployments"
        plane.api.request("DELETE", collection)


@contextmanager
def room_in_staging(plane: ControlPlane, apps: int) -> Iterator[None]:
    """Staging's quota raised for `apps` apps of up to two pods each. The shipped one
    (limits.memory 16Gi, requests.cpu 4) admits about 25 pods: a platform team with more apps
    raises it in the declaration, and so do the tests that run more, for their duration.
    Afterwards their workloads go and the shipped declaration is back, with room in it."""
    before = plane.environments_file.read_text()
    declared = yaml.safe_load(before)["environments"]
    roomy = {
        "requests.cpu": str(apps // 2 + 4),
        "requests.memory": f"{apps + 8}Gi",
        "limits.memory": f"{2 * apps + 16}Gi",
        "pods": str(2 * apps + 50),
    }
    for environment in declared:
        if environment["name"] == "staging":
            environment["quota"] = {**environment.get("quota", {}), **roomy}
    redeclare(plane, yaml.safe_dump({"environments": declared}))
    try:
        yield
    finally:
        remove_workloads(plane)
        redeclare(plane, before)
