"""Session-scoped fixtures for the real local stack (devstack), one per component, so a test
asks only for what it needs, and `stack` for the tests that need them all. Each starts on
first use and stops at the end of the session; when a test that used one fails, the tail of
its processes' logs is shown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack import (
    ArgoCD,
    ControlPlane,
    Keycloak,
    KubeControllers,
    Moto,
    Postgres,
    Service,
    start_argocd,
    start_control_plane,
    start_keycloak,
    start_kube_controllers,
    start_moto,
    start_postgres,
)
from devstack.moto import store_db_admin_secret
from tests.support.stack import LocalStack, remove_workloads

# The session's control plane, once a test has started it (see _workloads_leave_with_their_module).
_STARTED: list[ControlPlane] = []


@pytest.fixture(scope="session")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """State directory of this session's stack: data, keys, kubeconfig, logs/."""
    return tmp_path_factory.mktemp("devstack")


@pytest.fixture(scope="session")
def control_plane(stack_dir: Path) -> Iterator[ControlPlane]:
    """etcd + kube-apiserver with the CRDs installed and the environment namespaces."""
    plane = start_control_plane(stack_dir)
    _STARTED.append(plane)
    yield plane
    _STARTED.remove(plane)
    plane.stop()


@pytest.fixture(autouse=True, scope="module")
def _workloads_leave_with_their_module() -> Iterator[None]:
    """A module's Deployments leave the declared environments' namespaces with it. Every
    module shares those namespaces and the quota the declaration gives each (staging's
    limits.memory is 16Gi): a session's worth of apps left running would fill it, and a later
    module's pods would be refused ("exceeded quota: plattr-quota"). Their pods go with them
    (garbage collection); Applications and everything else stay."""
    yield
    for plane in _STARTED:
        remove_workloads(plane)


@pytest.fixture(scope="session")
def kube_controllers(control_plane: ControlPlane, stack_dir: Path) -> Iterator[KubeControllers]:
    """Controller manager, scheduler and kwok nodes: Deployments roll out, GC runs."""
    controllers = start_kube_controllers(control_plane, stack_dir)
    yield controllers
    controllers.stop()


@pytest.fixture(scope="session")
def kube_api_client(control_plane: ControlPlane) -> Any:
    """The official client, configured from the generated kubeconfig."""
    from kubernetes import config

    return config.new_client_from_config(config_file=str(control_plane.kubeconfig))


@pytest.fixture(scope="session")
def postgres(stack_dir: Path) -> Iterator[Postgres]:
    server = start_postgres(stack_dir)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto(stack_dir: Path) -> Iterator[Moto]:
    server = start_moto(stack_dir)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def db_admin_secret_arn(moto: Moto, postgres: Postgres) -> str:
    """`plattr/db-admin` in moto's Secrets Manager, pointing at the session's Postgres."""
    return store_db_admin_secret(moto, postgres)


@pytest.fixture(scope="session")
def keycloak(stack_dir: Path) -> Iterator[Keycloak]:
    server = start_keycloak(stack_dir)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def argo_cd(control_plane: ControlPlane, stack_dir: Path) -> Iterator[ArgoCD]:
    """Argo CD with the Plattr plugin on the session's API server, over an empty GitOps repo
    (`argo_cd.repo.url`) whose pushes reach it by webhook. No AppProject or ApplicationSet of
    Plattr's: a test applies what it needs (devstack.argocd.platform_objects)."""
    server = start_argocd(control_plane, stack_dir)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack(  # noqa: PLR0917 - pytest passes fixtures by position
    control_plane: ControlPlane,
    kube_controllers: KubeControllers,
    postgres: Postgres,
    moto: Moto,
    keycloak: Keycloak,
    kube_api_client: Any,
) -> LocalStack:
    """Every component: the API server with its controllers and nodes, Postgres, moto,
    Keycloak and a client of the API server."""
    return LocalStack(control_plane, kube_controllers, postgres, moto, keycloak, kube_api_client)


def _services(item: pytest.Item) -> list[Service]:
    found: list[Service] = []
    for value in getattr(item, "funcargs", {}).values():
        for service in getattr(value, "services", ()):
            if isinstance(service, Service) and service not in found:
                found.append(service)
    return found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed:
        for service in _services(item):
            title = f"devstack: {service.name} log ({service.log})"
            report.sections.append((title, service.tail()))
    return report
