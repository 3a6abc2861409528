"""kube-controller-manager, kube-scheduler and kwok with simulated nodes: what turns stored
objects into a working cluster (ReplicaSets, scheduled and Ready pods, namespace
finalization, garbage collection, default ServiceAccounts, resource quota usage), and kwok's
stand-in for an ingress controller's part: Ingresses get an address (`kwok-stages.yaml`). The
environments' ResourceQuotas are created here, once the quota controller runs to count them,
so that the API server's quota admission is the real one.

kwok also serves the nodes' kubelet API (over TLS, on the port the nodes advertise), so that
the API server's `logs` and `portforward` of a simulated pod reach it. A `PodStandIn` makes
those work for the pods of one namespace: a local process (outside the cluster) stands in for
their containers, `kubectl logs` reads its log (written in the CRI format:
`spawn(cri_log=True)`) and `kubectl port-forward` reaches its ports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from devstack import tools
from devstack.controlplane import READY_TIMEOUT, ControlPlane, environment_objects
from devstack.kubeapi import Object, condition_true
from devstack.ports import LOOPBACK, free_port
from devstack.probes import INSECURE, http_status
from devstack.process import Service, spawn, wait_until

KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
KWOK_STAGES = Path(__file__).with_name("kwok-stages.yaml")
KWOK_API = "kwok.x-k8s.io/v1alpha1"

POD_CIDR = "10.244.0.0/16"
NODE_CAPACITY = {"cpu": "32", "memory": "256Gi", "pods": "110"}


@dataclass(frozen=True)
class PodStandIn:
    """A local process (outside the cluster) standing in for the containers of every pod in
    `namespace`: their logs are its CRI-format `log`, their port p is its local port
    `ports[p]`."""

    namespace: str
    log: Path
    ports: Mapping[int, int]


def kwok_config(stand_ins: Sequence[PodStandIn]) -> list[dict[str, object]]:
    """kwok's ClusterLogs and ClusterPortForward for the stand-ins."""
    docs: list[dict[str, object]] = []
    for stand_in in stand_ins:
        meta = {"name": f"stand-in-{stand_in.namespace}"}
        selector = {"matchNamespaces": [stand_in.namespace]}
        logs = [{"logsFile": str(stand_in.log), "follow": True}]
        forwards = [
            {"ports": [pod_port], "target": {"address": LOOPBACK, "port": local_port}}
            for pod_port, local_port in stand_in.ports.items()
        ]
        docs.append(
            {
                "apiVersion": KWOK_API,
                "kind": "ClusterLogs",
                "metadata": meta,
                "spec": {"selector": selector, "logs": logs},
            }
        )
        docs.append(
            {
                "apiVersion": KWOK_API,
                "kind": "ClusterPortForward",
                "metadata": meta,
                "spec": {"selector": selector, "forwards": forwards},
            }
        )
    return docs


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
    plane: ControlPlane,
    state_dir: Path,
    *,
    node_count: int = 3,
    stand_ins: Sequence[PodStandIn] = (),
) -> KubeControllers:
    """Start the controller manager, the scheduler and kwok; register `node_count` nodes and
    wait until they are Ready and the environment namespaces have their default ServiceAccount
    (which pods need before they can be created). `stand_ins` give pods logs and ports."""
    config = state_dir / "kwok" / "stand-ins.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(yaml.safe_dump_all(kwok_config(stand_ins)))
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
                    f"--node-port={kwok_port}",
                    f"--server-address={LOOPBACK}:{kwok_port}",
                    f"--tls-cert-file={plane.serving_cert}",
                    f"--tls-private-key-file={plane.serving_key}",
                    f"--config={config}",
                    "--node-lease-duration-seconds=40",
                    f"--config={KWOK_STAGES}",
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
        quotas = _apply_quotas(plane)
        wait_until(
            lambda: all(_counted(plane, quota) for quota in quotas),
            "the environments' ResourceQuotas counted by the quota controller",
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


def _apply_quotas(plane: ControlPlane) -> list[str]:
    """Create every declared environment's ResourceQuota; their API paths."""
    paths = []
    for environment in plane.environments:
        for manifest in environment_objects(environment):
            if manifest["kind"] == "ResourceQuota":
                plane.api.apply(manifest)
                meta = manifest["metadata"]
                paths.append(
                    f"/api/v1/namespaces/{meta['namespace']}/resourcequotas/{meta['name']}"
                )
    return paths


def _counted(plane: ControlPlane, path: str) -> bool:
    quota = plane.api.get(path) or {}
    return bool(quota.get("status", {}).get("hard"))


def _default_service_accounts(plane: ControlPlane) -> bool:
    namespaces = plane.api.request("GET", "/api/v1/namespaces")["items"]
    return all(
        plane.api.get(f"/api/v1/namespaces/{ns['metadata']['name']}/serviceaccounts/default")
        for ns in namespaces
    )
