"""A running controller per test module, shared by the integration tests that need one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from controller_harness import Harness, running_controller
from devstack import ControlPlane, Keycloak, KubeControllers, Moto, Postgres


@pytest.fixture(scope="module")
def harness(  # noqa: PLR0917 - pytest passes fixtures by position
    control_plane: ControlPlane,
    kube_controllers: KubeControllers,
    postgres: Postgres,
    moto: Moto,
    keycloak: Keycloak,
    kube_api_client: Any,
) -> Iterator[Harness]:
    """plattr-controller's runtime on the real stack; resyncs only when a test asks."""
    with running_controller(
        control_plane, postgres, moto, keycloak, kube_api_client, RESYNC_SECONDS="3600"
    ) as running:
        yield running
