"""kube-controller-manager, kube-scheduler and kwok with simulated nodes: what turns stored
objects into a working cluster (ReplicaSets, scheduled and Ready pods, namespace
finalization, garbage collection, default ServiceAccounts)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devstack import tools
from devstack.controlplane import READY_TIMEOUT, ControlPlane
from devstack.kubeapi import Object, condition_true
from devstack.ports import LOOPBACK, free_port
from devstack.probes import INSECURE, http_status
from devstack.process import Service, spawn, wait_until

KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
POD_CIDR = "10.244.0.0/16"
NODE_CAPACITY = {"cpu": "32", "memory": "256Gi", "pods": "110"}


@dataclass(frozen=True)
class KubeControllers:
    controller_manager: Service
    scheduler: Service
    kwok: Service
    nodes: tuple[str, ...]

    @property
    def services(self) -> tuple[Service, ...]:
        return (self.kwok, self.scheduler, self.controller_manager)

    def stop(self) -> None:
        for service in self.services:
            service.stop()


def _component(name: str, plane: ControlPlane, state_dir: Path, *flags: str) -> Service:
    """Start a kube-* component serving /healthz on a free port; wait until healthy."""
    port = free_port()
    service = spawn(
        name,
        [
            tools.binary(name),
            f"--kubeconfig={plane.kubeconfig}",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={port}",
            f"--cert-dir={state_dir / name}",
            "--leader-elect=false",
            *flags,
        ],
        state_dir / "logs",
    )
    url = f"https://{LOOPBACK}:{port}/healthz"
    wait_until(lambda: http_status(url, context=INSECURE) == 200, "healthy", READY_TIMEOUT, service)
    return service


def node_manifest(name: str) -> Object:
    """A Node that kwok manages: it keeps it Ready and runs the pods bound to it."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {KWOK_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "status": {"allocatable": NODE_CAPACITY, "capacity": NODE_CAPACITY},
    }


def start_kube_controllers(
    plane: ControlPlane, state_dir: Path, *, node_count: int = 3
) -> KubeControllers:
    """Start the controller manager, the scheduler and kwok; register `node_count` nodes and
    wait until they are Ready and the environment namespaces have their default ServiceAccount
    (which pods need before they can be created)."""
    started: list[Service] = []
    try:
        started.append(
            _component(
                "kube-controller-manager",
                plane,
                state_dir,
                f"--service-account-private-key-file={plane.sa_key}",
                f"--root-ca-file={plane.ca_file}",
                "--use-service-account-credentials=false",
                "--node-monitor-grace-period=40s",
            )
        )
        started.append(_component("kube-scheduler", plane, state_dir))
        kwok_port = free_port()
        started.append(
            spawn(
                "kwok",
                [
                    tools.binary("kwok"),
                    f"--kubeconfig={plane.kubeconfig}",
                    "--manage-all-nodes=false",
                    f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
                    f"--cidr={POD_CIDR}",
                    f"--node-ip={LOOPBACK}",
                    f"--server-address={LOOPBACK}:{kwok_port}",
                    "--node-lease-duration-seconds=40",
                ],
                state_dir / "logs",
            )
        )
        nodes = tuple(f"kwok-node-{i}" for i in range(node_count))
        for name in nodes:
            plane.api.apply(node_manifest(name))
        wait_until(
            lambda: all(
                condition_true(plane.api.get(f"/api/v1/nodes/{n}"), "Ready") for n in nodes
            ),
            f"{node_count} simulated nodes Ready",
            READY_TIMEOUT,
            *started,
        )
        wait_until(
            lambda: _default_service_accounts(plane),
            "default ServiceAccounts created in every namespace",
            READY_TIMEOUT,
            *started,
        )
    except BaseException:
        for service in reversed(started):
            service.stop()
        raise
    manager, scheduler, kwok = started
    return KubeControllers(manager, scheduler, kwok, nodes)


def _default_service_accounts(plane: ControlPlane) -> bool:
    namespaces = plane.api.request("GET", "/api/v1/namespaces")["items"]
    return all(
        plane.api.get(f"/api/v1/namespaces/{ns['metadata']['name']}/serviceaccounts/default")
        for ns in namespaces
    )
