"""etcd + kube-apiserver: RBAC on, a static admin token, service-account signing keys, a
kubeconfig; then the CRDs and the declared environments' namespaces (the declaration named by
PLATTR_ENVIRONMENTS_FILE, else the shipped one), labelled as on EKS (Pod Security `restricted`:
charts/plattr/files/platform-namespaces.yaml, which the CDK app reads too), with their
LimitRange. Their ResourceQuotas come with the quota controller (devstack/controllers.py): the
API server refuses every pod of a namespace whose quota the controller has not counted yet."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from devstack import tools
from devstack.errors import StackError
from devstack.kubeapi import KubeAPI, condition_true
from devstack.pki import Pki, write_pki
from devstack.ports import LOOPBACK, free_port
from devstack.probes import http_status
from devstack.process import Service, spawn, wait_until
from plattr.environments import Environment, Environments, from_environ, load
from plattr.namespaces import namespace_objects

REPO = tools.TOOLS_DIR.parent
DEFAULT_CRDS = REPO / "charts" / "plattr" / "crds"
PLATFORM_NAMESPACES = REPO / "charts" / "plattr" / "files" / "platform-namespaces.yaml"
_SHARED: dict[str, Any] = yaml.safe_load(PLATFORM_NAMESPACES.read_text())
SERVICE_CIDR = "10.0.0.0/24"
ADMIN_USER = "devstack-admin"
READY_TIMEOUT = 60.0


@dataclass(frozen=True)
class ControlPlane:
    """A running etcd + kube-apiserver. `kubeconfig` is what clients load."""

    url: str
    kubeconfig: Path
    token: str = field(repr=False)
    ca_file: Path
    sa_key: Path
    serving_cert: Path  # also kwok's, for the kubelet API it serves
    serving_key: Path
    etcd_url: str
    etcd: Service
    apiserver: Service
    environments: Environments
    # The stack's own copy of the declaration, which the plugin, the controller and the
    # ApplicationSets follow (what the chart's ConfigMap is on a cluster): redeclare() rewrites it.
    environments_file: Path

    @property
    def api(self) -> KubeAPI:
        return KubeAPI(self.url, self.token, self.ca_file)

    @property
    def services(self) -> tuple[Service, ...]:
        return (self.apiserver, self.etcd)

    def stop(self) -> None:
        for service in self.services:
            service.stop()


def start_etcd(state_dir: Path) -> tuple[Service, str]:
    client, peer = free_port(), free_port()
    url, peer_url = f"http://{LOOPBACK}:{client}", f"http://{LOOPBACK}:{peer}"
    etcd = spawn(
        "etcd",
        [
            tools.binary("etcd"),
            "--name=devstack",
            f"--data-dir={state_dir / 'etcd'}",
            f"--listen-client-urls={url}",
            f"--advertise-client-urls={url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=devstack={peer_url}",
            "--unsafe-no-fsync",  # throwaway data: durability buys nothing here
            "--log-level=warn",
        ],
        state_dir / "logs",
    )
    wait_until(lambda: http_status(f"{url}/health") == 200, "healthy", READY_TIMEOUT, etcd)
    return etcd, url


def _apiserver_argv(state_dir: Path, pki: Pki, port: int, etcd_url: str, tokens: Path) -> list[str]:
    return [
        str(tools.binary("kube-apiserver")),
        f"--etcd-servers={etcd_url}",
        f"--bind-address={LOOPBACK}",
        f"--advertise-address={LOOPBACK}",
        f"--secure-port={port}",
        f"--cert-dir={state_dir / 'apiserver'}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--token-auth-file={tokens}",
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki.sa_pub}",
        f"--service-account-signing-key-file={pki.sa_key}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--allow-privileged=true",
        "--kubelet-preferred-address-types=InternalIP",  # kwok's nodes: 127.0.0.1
        "--profiling=false",
    ]


def write_kubeconfig(path: Path, url: str, token: str, ca_file: Path) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "devstack",
                "cluster": {
                    "server": url,
                    "certificate-authority-data": base64.b64encode(ca_file.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": ADMIN_USER, "user": {"token": token}}],
        "contexts": [{"name": "devstack", "context": {"cluster": "devstack", "user": ADMIN_USER}}],
        "current-context": "devstack",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


def start_control_plane(
    state_dir: Path,
    *,
    kubeconfig: Path | None = None,
    crd_files: Iterable[Path] | None = None,
    environments: Environments | None = None,
) -> ControlPlane:
    """Start etcd and the API server, wait for /readyz, install CRDs, create the environments'
    namespaces with their LimitRanges.

    crd_files defaults to charts/plattr/crds/*.yaml; kubeconfig to <state_dir>/kubeconfig;
    environments to the declaration PLATTR_ENVIRONMENTS_FILE names, else the shipped one.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    pki = write_pki(state_dir / "pki")
    token = secrets.token_urlsafe(32)
    tokens = state_dir / "pki" / "tokens.csv"
    tokens.write_text(f'{token},{ADMIN_USER},{ADMIN_USER},"system:masters"\n')
    tokens.chmod(0o600)
    declared = environments or from_environ()
    (state_dir / "environments.yaml").write_text(Path(declared.source).read_text())
    etcd, etcd_url = start_etcd(state_dir)
    port = free_port()
    apiserver = spawn(
        "kube-apiserver",
        _apiserver_argv(state_dir, pki, port, etcd_url, tokens),
        state_dir / "logs",
    )
    plane = ControlPlane(
        url=f"https://{LOOPBACK}:{port}",
        kubeconfig=kubeconfig or state_dir / "kubeconfig",
        token=token,
        ca_file=pki.ca_cert,
        sa_key=pki.sa_key,
        serving_cert=pki.serving_cert,
        serving_key=pki.serving_key,
        etcd_url=etcd_url,
        etcd=etcd,
        apiserver=apiserver,
        environments=declared,
        environments_file=state_dir.resolve() / "environments.yaml",
    )
    try:
        write_kubeconfig(plane.kubeconfig, plane.url, token, pki.ca_cert)
        wait_until(lambda: _ready(plane), "ready (/readyz)", READY_TIMEOUT, apiserver, etcd)
        for environment in plane.environments:
            for manifest in environment_objects(environment):
                if manifest["kind"] != "ResourceQuota":
                    plane.api.apply(manifest)
        install_crds(plane, sorted(DEFAULT_CRDS.glob("*.yaml")) if crd_files is None else crd_files)
    except BaseException:
        plane.stop()
        raise
    return plane


def environment_labels(name: str) -> dict[str, str]:
    """The labels of environment `name`'s namespace: its environment, Pod Security's."""
    return {_SHARED["environmentLabel"]: name, **_SHARED["podSecurity"]}


def environment_objects(environment: Environment) -> list[dict[str, Any]]:
    """The environment's Namespace, ResourceQuota and LimitRange, as the CDK app makes them."""
    return namespace_objects(environment, environment_labels(environment.name), {})


def redeclare(plane: ControlPlane, text: str) -> Environments:
    """A platform team's change of the declaration, as `helm upgrade`/`cdk deploy` makes it on
    a cluster: the stack's copy rewritten (the plugin and the controller read it again), every
    declared environment's namespace, quota and LimitRange applied. Nothing is deleted."""
    plane.environments_file.write_text(text)
    declared = load(plane.environments_file)
    for environment in declared:
        for manifest in environment_objects(environment):
            plane.api.apply(manifest)
    return declared


def _ready(plane: ControlPlane) -> bool:
    headers = {"Authorization": f"Bearer {plane.token}"}
    context = plane.api.ssl_context()
    return http_status(f"{plane.url}/readyz", context=context, headers=headers) == 200


def install_crds(plane: ControlPlane, files: Iterable[Path]) -> list[str]:
    """Apply every CustomResourceDefinition in `files`; wait until each is Established."""
    names = []
    for path in files:
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc:
                continue
            if doc.get("kind") != "CustomResourceDefinition":
                raise StackError(
                    f"{path}: expected CustomResourceDefinitions, found {doc.get('kind')}"
                )
            plane.api.apply(doc)
            names.append(doc["metadata"]["name"])
    wait_until(
        lambda: all(_established(plane, name) for name in names),
        f"CRDs {', '.join(names)} established",
        READY_TIMEOUT,
        plane.apiserver,
    )
    return names


def _established(plane: ControlPlane, crd: str) -> bool:
    path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd}"
    return condition_true(plane.api.get(path), "Established")
