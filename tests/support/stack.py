"""The local stack as one fixture value, for the tests that need every component."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devstack import ControlPlane, Keycloak, KubeControllers, Moto, Postgres


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
