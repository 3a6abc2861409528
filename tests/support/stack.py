"""The local stack as one fixture value, for the tests that need every component."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devstack import ControlPlane, Keycloak, KubeControllers, Moto, Postgres
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
