"""Argo CD (the release tools/build.sh builds) on loopback against the stack's API server, with
Plattr's config-management plugin: redis, a GitOps repository served over HTTP, argocd-cmp-
server running argocd/plugin.yaml with this virtualenv's `plattr-cmp` (the sidecar's environment
from argocd/repo-server/plattr-sidecar.yaml, the stack's environments declaration), argocd-repo-
server, argocd-server (API, `default` AppProject, the initial admin password), argocd-
application-controller and argocd-applicationset-controller. A push to the repository reaches
Argo CD as a GitHub-style webhook, so it is seen at once, not on the next poll.

Each process gets its own HOME and TMPDIR under the state directory and explicit loopback ports
(Argo CD's defaults are fixed ports and /tmp paths), so two stacks can share a machine. Argo CD
runs "in cluster" against the stack's API server: with ARGOCD_FAKE_IN_CLUSTER,
https://kubernetes.default.svc is whatever the KUBECONFIG variable names.
"""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from devstack import tools
from devstack.controlplane import REPO, ControlPlane, install_crds
from devstack.errors import StackError
from devstack.gitserver import GitServer, start_git_server
from devstack.kubeapi import KubeAPI
from devstack.ports import LOOPBACK, free_port
from devstack.probes import http_status
from devstack.process import Service, run, spawn, wait_until
from plattr.environments import ENVIRONMENTS_FILE_VARIABLE

NAMESPACE = "argocd"
PLUGIN_CONFIG = REPO / "argocd" / "plugin.yaml"
SIDECAR = REPO / "argocd" / "repo-server" / "plattr-sidecar.yaml"
ARGOCD_CM = REPO / "argocd" / "repo-server" / "argocd-cm.yaml"
CHART = REPO / "charts" / "plattr"
# What the chart renders for Argo CD from the environments declaration (argocd.enabled).
PLATFORM_TEMPLATES = ("templates/argocd-appproject.yaml", "templates/argocd-applicationset.yaml")
TEMPLATE = REPO / "gitops-repo-template"
ADMIN_SECRET = "argocd-initial-admin-secret"  # a Secret's name, not a secret  # noqa: S105
PART_OF = {"app.kubernetes.io/part-of": "argocd"}
READY_TIMEOUT = 120.0
# argocd-cmp-server only removes its socket on the first SIGTERM and keeps serving; it holds
# no state, so it gets SIGKILL a moment later
CMP_STOP_TIMEOUT = 1.0


@dataclass(frozen=True)
class ArgoCD:
    """`url`: argocd-server's API (`argocd login <host:port> --plaintext`, user admin, the
    password in `admin_password_file`); `repo`: the GitOps repo; `environments_file`: the
    environments declaration its plugin and its ApplicationSets follow."""

    url: str
    repo: GitServer
    admin_password_file: Path
    api: KubeAPI = field(repr=False)
    processes: tuple[Service, ...]
    environments_file: Path

    @property
    def services(self) -> tuple[Service, ...]:
        return (*self.processes, self.repo.process)

    def application(self, name: str) -> dict[str, Any] | None:
        """The Argo CD Application `name` (in the argocd namespace), or None."""
        return self.api.get(
            f"/apis/argoproj.io/v1alpha1/namespaces/{NAMESPACE}/applications/{name}"
        )

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()


class _Launcher:
    """Starts Argo CD's processes, in order, with their shared environment."""

    def __init__(self, plane: ControlPlane, state_dir: Path) -> None:
        state_dir = state_dir.resolve()  # hooks and processes run elsewhere
        self.state = state_dir / "argocd"
        self.log_dir = state_dir / "logs"
        self.plane = plane
        self.plugins = self.state / "plugins"  # cmp-servers' sockets, where the repo-server looks
        self.started: list[Service] = []
        for name in ("plugins", "tls", "ssh", "redis", "static"):
            (self.state / name).mkdir(parents=True, exist_ok=True)

    def env(self, name: str, *, in_cluster: bool = False) -> dict[str, str]:
        home, tmp = self.state / "home" / name, self.state / "tmp" / name
        home.mkdir(parents=True, exist_ok=True)
        tmp.mkdir(parents=True, exist_ok=True)
        env = {
            "HOME": str(home),
            "TMPDIR": str(tmp),  # clones and plugin checkouts; a cmp-server wipes its own
            # the repo-server runs git with GIT_ASKPASS=argocd: it must be on PATH
            "PATH": f"{tools.binary('argocd').parent}:/usr/local/bin:/usr/bin:/bin",
            "ARGOCD_GPG_ENABLED": "false",
            "ARGOCD_TLS_DATA_PATH": str(self.state / "tls"),
            "ARGOCD_SSH_DATA_PATH": str(self.state / "ssh"),
            "ARGOCD_PLUGINSOCKFILEPATH": str(self.plugins),
            "ARGOCD_ASK_PASS_SOCK": str(self.state / "askpass.sock"),
        }
        if in_cluster:
            env |= {"KUBECONFIG": str(self.plane.kubeconfig), "ARGOCD_FAKE_IN_CLUSTER": "true"}
        return env

    def spawn(self, argv: list[str], env: dict[str, str] | None = None, **kw: Any) -> Service:
        """argv[0] names a binary of the stack's tools (or a command on PATH)."""
        name = str(argv[0])
        binary = tools.binary(name) if name.startswith("argocd") else name
        service = spawn(Path(name).name, [binary, *argv[1:]], self.log_dir, env=env, **kw)
        self.started.append(service)
        return service

    def argocd(self, name: str, *args: str, in_cluster: bool = False, **kw: Any) -> Service:
        env = kw.pop("env", None) or self.env(name, in_cluster=in_cluster)
        return self.spawn([name, *args, "--logformat", "text"], env, **kw)

    def stop(self) -> None:
        for service in reversed(self.started):
            service.stop()

    def redis(self) -> str:
        port = free_port()
        redis = self.spawn(
            [
                *["redis-server", "--bind", LOOPBACK, "--port", str(port)],
                *["--save", "", "--appendonly", "no", "--dir", str(self.state / "redis")],
            ]
        )
        wait_until(lambda: _redis_ready(port), "answering PING", READY_TIMEOUT, redis)
        return f"{LOOPBACK}:{port}"

    def plugin(self) -> None:
        """The sidecar: plugin.yaml as the image bakes it, plattr-cmp from this virtualenv."""
        env = self.env("argocd-cmp-server") | sidecar_env()
        env[ENVIRONMENTS_FILE_VARIABLE] = str(declaration_file(self.plane))
        venv_bin = Path(sys.executable).parent
        env["PATH"] = f"{venv_bin}:{tools.binary('kustomize').parent}:{env['PATH']}"
        config = ["--config-dir-path", str(PLUGIN_CONFIG.parent)]
        cmp = self.argocd("argocd-cmp-server", *config, env=env, stop_timeout=CMP_STOP_TIMEOUT)
        sock = self.plugins / _plugin_socket()
        wait_until(sock.exists, f"listening on {sock}", READY_TIMEOUT, cmp)

    def repo_server(self, redis: str) -> str:
        port, metrics = free_port(), free_port()
        listen = ["--disable-tls", "--address", LOOPBACK, "--port", str(port)]
        metrics_at = ["--metrics-address", LOOPBACK, "--metrics-port", str(metrics)]
        server = self.argocd("argocd-repo-server", *listen, *metrics_at, "--redis", redis)
        healthz = f"http://{LOOPBACK}:{metrics}/healthz"
        wait_until(lambda: _http_ok(healthz), "healthy", READY_TIMEOUT, server)
        return f"{LOOPBACK}:{port}"

    def server(self, repo_server: str, redis: str) -> str:
        """argocd-server, before any Application: only it creates the `default` AppProject."""
        port = free_port()
        listen = ["--insecure", "--address", LOOPBACK, "--port", str(port)]
        backends = ["--repo-server", repo_server, "--repo-server-plaintext", "--redis", redis]
        # the Go module Argo CD is built from carries no built UI: an empty assets directory
        assets = ["--staticassets", str(self.state / "static")]
        metrics = ["--metrics-port", str(free_port()), "--namespace", NAMESPACE]
        server = self.argocd(
            "argocd-server", *listen, *backends, *assets, *metrics, in_cluster=True
        )
        url = f"http://{LOOPBACK}:{port}"
        wait_until(lambda: _http_ok(f"{url}/healthz"), "healthy", READY_TIMEOUT, server)
        api = self.plane.api
        wait_until(
            lambda: api.get(_DEFAULT_PROJECT) is not None and api.get(_ADMIN_SECRET) is not None,
            "the default AppProject and the admin password created",
            READY_TIMEOUT,
            server,
        )
        return url

    def application_controller(self, repo_server: str, redis: str) -> None:
        # its metrics and /healthz listen on 0.0.0.0 (Argo CD has no flag for the address)
        metrics = free_port()
        backends = ["--repo-server", repo_server, "--repo-server-plaintext", "--redis", redis]
        controller = self.argocd(
            "argocd-application-controller",
            *backends,
            *["--namespace", NAMESPACE, "--metrics-port", str(metrics)],
            in_cluster=True,
        )
        healthz = f"http://{LOOPBACK}:{metrics}/healthz"
        wait_until(lambda: _http_ok(healthz), "healthy", READY_TIMEOUT, controller)

    def applicationset_controller(self, repo_server: str) -> str:
        """Returns its webhook's URL."""
        metrics, webhook = free_port(), free_port()
        addresses = {"metrics": metrics, "probe": free_port(), "webhook": webhook}
        controller = self.argocd(
            "argocd-applicationset-controller",
            *["--argocd-repo-server", repo_server, "--repo-server-plaintext"],
            *["--namespace", NAMESPACE],
            *(f"--{kind}-addr={LOOPBACK}:{port}" for kind, port in addresses.items()),
            in_cluster=True,
        )
        # it registers no health check (its /healthz answers 404): /metrics once serving
        url = f"http://{LOOPBACK}:{metrics}/metrics"
        wait_until(lambda: _http_ok(url), "serving /metrics", READY_TIMEOUT, controller)
        return f"http://{LOOPBACK}:{webhook}/api/webhook"


_DEFAULT_PROJECT = f"/apis/argoproj.io/v1alpha1/namespaces/{NAMESPACE}/appprojects/default"
_ADMIN_SECRET = f"/api/v1/namespaces/{NAMESPACE}/secrets/{ADMIN_SECRET}"


def _redis_ready(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _http_ok(url: str) -> bool:
    return http_status(url) == 200


def sidecar_env() -> dict[str, str]:
    """The plugin sidecar's own settings (BASE_DOMAIN, AWS_ACCOUNT_ID), as deployed."""
    patch = yaml.safe_load(SIDECAR.read_text())
    (container,) = patch["spec"]["template"]["spec"]["containers"]
    return {item["name"]: str(item["value"]) for item in container["env"]}


def declaration_file(plane: ControlPlane) -> Path:
    """The stack's copy of the environments declaration (devstack.controlplane.redeclare)."""
    return plane.environments_file


def _plugin_socket() -> str:
    plugin = yaml.safe_load(PLUGIN_CONFIG.read_text())
    return f"{plugin['metadata']['name']}-{plugin['spec']['version']}.sock"


def _prepare_cluster(plane: ControlPlane) -> None:
    install_crds(plane, tools.argocd_crds())
    api = plane.api
    api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    config = yaml.safe_load(ARGOCD_CM.read_text())
    config["metadata"] |= {"namespace": NAMESPACE, "labels": PART_OF}
    api.apply(config)
    # argocd-server fills in its signing key and the admin password
    secret = {"name": "argocd-secret", "namespace": NAMESPACE, "labels": PART_OF}
    api.apply({"apiVersion": "v1", "kind": "Secret", "metadata": secret, "type": "Opaque"})


def start_argocd(plane: ControlPlane, state_dir: Path) -> ArgoCD:
    """Start Argo CD against `plane` (its CRDs, the argocd namespace, every process) with an
    empty GitOps repo; state under <state_dir>/argocd, logs in <state_dir>/logs."""
    launcher = _Launcher(plane, state_dir)
    try:
        _prepare_cluster(plane)
        redis = launcher.redis()
        repo = start_git_server(launcher.state)
        launcher.started.append(repo.process)
        launcher.plugin()
        repo_server = launcher.repo_server(redis)
        url = launcher.server(repo_server, redis)
        launcher.application_controller(repo_server, redis)
        appset_webhook = launcher.applicationset_controller(repo_server)
        # a push refreshes the Applications (argocd-server) and the ApplicationSets' git
        # generators (the applicationset-controller), as a forge's webhook would
        repo.notify_on_push([f"{url}/api/webhook", appset_webhook])
        secret = plane.api.get(_ADMIN_SECRET) or {}
        password = base64.b64decode(secret["data"]["password"]).decode()
        password_file = launcher.state / "admin-password"
        password_file.touch(mode=0o600)
        password_file.write_text(password + "\n")
    except BaseException:
        launcher.stop()
        raise
    processes = tuple(s for s in launcher.started if s is not repo.process)
    return ArgoCD(url, repo, password_file, plane.api, processes, declaration_file(plane))


def seed_gitops_repo(argocd: ArgoCD, content: Path = TEMPLATE) -> None:
    """Push `content` (default: gitops-repo-template) as the repo's first commit on main."""
    with tempfile.TemporaryDirectory(prefix="gitops-seed-", dir=argocd.repo.bare.parent) as tmp:
        work = Path(tmp)
        shutil.copytree(content, work, dirs_exist_ok=True)
        git = ["git", "-C", str(work), "-c", "user.name=devstack"]
        git += ["-c", "user.email=devstack@localhost"]
        run([*git, "init", "--quiet", "--initial-branch", "main"], "git init")
        run([*git, "add", "--all"], "git add")
        run([*git, "commit", "--quiet", "--message", f"Start from {content.name}"], "git commit")
        run([*git, "push", "--quiet", str(argocd.repo.bare), "main"], "git push")


def platform_objects(repo_url: str, declaration: Path) -> list[dict[str, Any]]:
    """The AppProject and the apps' ApplicationSet that charts/plattr renders for the
    environments `declaration` (a file with an `environments:` list, e.g. the chart's values),
    pointed at `repo_url`, in the argocd namespace. The previews ApplicationSet is left out:
    its pull-request generator asks GitHub's API, with a token."""
    argv = [tools.binary("helm"), "template", "plattr", CHART, "--namespace", "plattr-system"]
    argv += ["--values", declaration, "--set", "argocd.enabled=true"]
    argv += ["--set-string", f"argocd.repoURL={repo_url},argocd.namespace={NAMESPACE}"]
    for template in PLATFORM_TEMPLATES:
        argv += ["--show-only", template]
    result = subprocess.run(list(map(str, argv)), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StackError(f"helm template of {CHART} with {declaration}: {result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
MISSING_PATH = "app path does not exist"  # the repo-server's word for a removed directory


def retire_application(argocd: ArgoCD, name: str, timeout: float = READY_TIMEOUT) -> None:
    """What `argocd app delete <name>` does, once the app's directory is gone from the repo:
    wait until Argo CD sees it gone (so that the ApplicationSet no longer makes or updates the
    Application), give the Application the resources finalizer and delete it; Argo CD deletes
    what it deployed, then the Application. Returns when the Application is gone."""
    path = f"/apis/argoproj.io/v1alpha1/namespaces/{NAMESPACE}/applications/{name}"
    meta = {"name": name, "namespace": NAMESPACE, "finalizers": [RESOURCES_FINALIZER]}
    patch = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": meta}

    def path_gone() -> bool:
        application = argocd.application(name)
        conditions = ((application or {}).get("status") or {}).get("conditions") or []
        return application is None or any(MISSING_PATH in c.get("message", "") for c in conditions)

    wait_until(path_gone, f"Argo CD seeing {name}'s directory removed", timeout)

    def gone() -> bool:
        application = argocd.application(name)
        if application is None:
            return True
        if not application["metadata"].get("deletionTimestamp"):
            argocd.api.request("PATCH", f"{path}?fieldManager=argocd-app-delete&force=true", patch)
            argocd.api.request("DELETE", path)
        return False

    wait_until(gone, f"Argo CD Application {name} deleted with what it deployed", timeout)


def apply_platform(argocd: ArgoCD) -> list[str]:
    """Apply platform_objects for this Argo CD's repo; returns their kind/name."""
    applied = []
    for obj in platform_objects(argocd.repo.url, argocd.environments_file):
        argocd.api.apply(obj)
        applied.append(f"{obj['kind']}/{obj['metadata']['name']}")
    if not applied:
        raise StackError(f"{CHART} rendered no AppProject or ApplicationSet")
    return applied
