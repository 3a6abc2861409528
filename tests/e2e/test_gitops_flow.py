"""The whole flow on the real local stack, as a platform team runs it.

A GitOps repo is made from gitops-repo-template. The ApplicationSets the chart renders from the
environments declaration are expanded for its app directories and a list of open pull requests;
each Argo CD Application is rendered by `plattr-cmp generate` exactly as the repo-server runs it
(a fresh checkout of the revision, the app's path as working directory, Argo CD's environment
and the sidecar's), checked against the `plattr-apps` AppProject and applied server-side; what a
render no longer has is pruned. The chart (helm template) is applied, and the controller runs as
its real console script with the chart's ServiceAccount token, so the chart's RBAC is what it
gets.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import httpx
import psycopg
import pytest
import yaml

from controller.config import LEASE_NAME
from controller.provisioners.identity_providers import (
    CLIENT_ID_KEY,
    CLIENT_SECRET_KEY,
    SECRET_NAME,
    SECRET_NAMESPACE,
)
from devstack import ControlPlane, Keycloak, Moto, Postgres, Service, wait_until
from devstack.ports import free_port
from devstack.process import spawn
from plattr.environments import DEFAULT_FILE, ENVIRONMENTS_FILE_VARIABLE
from plattr.models import IdentityProvider
from plattr.naming import Target
from tests.support.applicationsets import PullRequest, Sources, applications
from tests.support.chart import NAMESPACE as SYSTEM_NAMESPACE
from tests.support.chart import RELEASE as SERVICE_ACCOUNT  # the chart names it after the release
from tests.support.chart import argocd_objects, plain_env, render_chart
from tests.support.controller_harness import ACCOUNT_ID, BASE_DOMAIN, controller_env
from tests.support.stack import LocalStack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "gitops-repo-template"
SIDECAR = ROOT / "argocd" / "repo-server" / "plattr-sidecar.yaml"
BIN = Path(sys.executable).parent
FIELD_MANAGER = "argocd-controller"
TIMEOUT = 180.0
FIGURES = ROOT / "test-artifacts" / "e2e-figures.json"
PLATTR_GROUP = "platform.internal"

Manifest = dict[str, Any]
Ref = tuple[str, str, str, str]  # apiVersion, kind, namespace, name


def kubectl(plane: ControlPlane, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        ["kubectl", f"--kubeconfig={plane.kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def ref_of(manifest: Manifest) -> Ref:
    metadata = manifest["metadata"]
    return (
        manifest["apiVersion"],
        manifest["kind"],
        metadata.get("namespace", ""),
        metadata["name"],
    )


def as_list(manifests: Sequence[Manifest]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(manifests)})


def delete(plane: ControlPlane, refs: Sequence[Ref]) -> None:
    """Delete objects as Argo CD prunes them (background propagation, no waiting)."""
    stubs = [
        {"apiVersion": v, "kind": k, "metadata": {"name": n, **({"namespace": ns} if ns else {})}}
        for v, k, ns, n in refs
    ]
    if stubs:
        kubectl(
            plane, "delete", "--ignore-not-found", "--wait=false", "-f", "-", stdin=as_list(stubs)
        )


# --- the GitOps repo -----------------------------------------------------------------------


class GitOpsRepo:
    """A git repository made from the template; `checkout` is what the repo-server fetches."""

    def __init__(self, path: Path) -> None:
        self.path = path
        shutil.copytree(TEMPLATE, path)
        self.git("init", "--quiet", "--initial-branch=main")
        self.commit("platform: from gitops-repo-template")

    def git(self, *args: str) -> str:
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.path),
            "GIT_AUTHOR_NAME": "plattr-e2e",
            "GIT_AUTHOR_EMAIL": "e2e@example.test",
            "GIT_COMMITTER_NAME": "plattr-e2e",
            "GIT_COMMITTER_EMAIL": "e2e@example.test",
        }
        return subprocess.run(
            ["git", *args], cwd=self.path, env=env, capture_output=True, text=True, check=True
        ).stdout.strip()

    def commit(self, message: str) -> str:
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", message)
        return self.git("rev-parse", "HEAD")

    def checkout(self, revision: str, into: Path) -> Path:
        """The tree at `revision` in a fresh directory (Argo CD hands the sidecar a copy)."""
        target = into / revision
        if not target.exists():
            target.mkdir(parents=True)
            archive = subprocess.run(
                ["git", "archive", revision], cwd=self.path, capture_output=True, check=True
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
        return target


# --- what Argo CD does with the ApplicationSets ----------------------------------------------


@dataclass
class Project:
    """The `plattr-apps` AppProject's checks on an Application's manifests."""

    spec: dict[str, Any]

    def check(self, app: Manifest, manifests: Sequence[Manifest]) -> None:
        allowed = [d["namespace"] for d in self.spec["destinations"]]
        namespaced = {(r["group"], r["kind"]) for r in self.spec["namespaceResourceWhitelist"]}
        cluster = {(r["group"], r["kind"]) for r in self.spec["clusterResourceWhitelist"]}
        destination = app["spec"]["destination"]["namespace"]
        assert any(fnmatch.fnmatch(destination, pattern) for pattern in allowed), destination
        for manifest in manifests:
            group = manifest["apiVersion"].rpartition("/")[0]
            namespace = manifest["metadata"].get("namespace")
            kinds = namespaced if namespace else cluster
            where = namespace or manifest["metadata"]["name"]
            assert (group, manifest["kind"]) in kinds, f"{app['metadata']['name']}: {manifest}"
            assert any(fnmatch.fnmatch(where, pattern) for pattern in allowed), where


@dataclass
class ArgoCD:
    """Renders, applies and prunes the Applications the ApplicationSets generate."""

    plane: ControlPlane
    repo: GitOpsRepo
    scratch: Path
    sidecar_env: dict[str, str]
    project: Project
    appsets: list[Manifest]
    live: dict[str, list[Ref]] = field(default_factory=dict)
    # Applications of a `create-update` ApplicationSet: the generator dropping them deletes
    # nothing (a person retires them with `argocd app delete`).
    retained: set[str] = field(default_factory=set)

    def generate(self, app: Manifest, revision: str) -> list[Manifest]:
        """`plattr-cmp generate` as the repo-server runs it for this Application."""
        source = app["spec"]["source"]
        plugin = source["plugin"]
        assert plugin["name"] == "plattr-v1"
        workdir = self.repo.checkout(revision, self.scratch / "checkouts") / source["path"]
        env = {
            **self.sidecar_env,
            "ARGOCD_APP_NAME": app["metadata"]["name"],
            "ARGOCD_APP_NAMESPACE": app["metadata"]["namespace"],
            "ARGOCD_APP_PROJECT_NAME": app["spec"]["project"],
            "ARGOCD_APP_REVISION": revision,
            "ARGOCD_APP_REVISION_SHORT": revision[:7],
            "ARGOCD_APP_SOURCE_PATH": source["path"],
            "ARGOCD_APP_SOURCE_REPO_URL": source["repoURL"],
            "ARGOCD_APP_SOURCE_TARGET_REVISION": source["targetRevision"],
            **{f"ARGOCD_ENV_{e['name']}": e["value"] for e in plugin.get("env", [])},
            # As real Argo CD sends them (tests/fixtures/argocd-cmp): `null` without parameters.
            "ARGOCD_APP_PARAMETERS": json.dumps(plugin.get("parameters")),
            **{
                f"PARAM_{p['name'].upper().replace('-', '_')}": p["string"]
                for p in plugin.get("parameters", [])
            },
        }
        result = subprocess.run(
            [str(BIN / "plattr-cmp"), "generate"],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        manifests = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
        assert manifests, f"{app['metadata']['name']}: an empty render"
        return manifests

    def remove_all(self) -> None:
        """The ApplicationSets deleted: every app's resources go (the controller finalizes)."""
        refs = [ref for name in list(self.live) for ref in self.live.pop(name)]
        delete(self.plane, refs)
        for ref in (r for r in refs if r[0].startswith(f"{PLATTR_GROUP}/")):
            wait_until(lambda ref=ref: not status(self.plane, ref), f"{ref} gone", TIMEOUT)

    def sync(self, sources: Sources, revision: str) -> dict[str, list[Manifest]]:
        """One pass of the ApplicationSet controller, then a sync of every app (automated
        outside production; for production this plays the person at the manual gate)."""
        apps = []
        for appset in self.appsets:
            generated = applications(appset, sources)
            if appset["spec"].get("syncPolicy", {}).get("applicationsSync") == "create-update":
                self.retained |= {app["metadata"]["name"] for app in generated}
            apps += generated
        rendered: dict[str, list[Manifest]] = {}
        for app in apps:
            name = app["metadata"]["name"]
            manifests = self.generate(app, revision)
            self.project.check(app, manifests)
            for manifest in manifests:
                # Argo CD's annotation tracking (argocd/repo-server: resourceTrackingMethod)
                api_version, kind, namespace, obj = ref_of(manifest)
                annotations = manifest["metadata"].setdefault("annotations", {})
                annotations["argocd.argoproj.io/tracking-id"] = (
                    f"{name}:{api_version.rpartition('/')[0]}/{kind}:{namespace}/{obj}"
                )
            kubectl(
                self.plane,
                "apply",
                "--server-side",
                "--force-conflicts",
                f"--field-manager={FIELD_MANAGER}",
                "-f",
                "-",
                stdin=as_list(manifests),
            )
            refs = [ref_of(m) for m in manifests]
            delete(self.plane, [r for r in self.live.get(name, []) if r not in refs])  # prune
            self.live[name] = refs
            rendered[name] = manifests
        for gone in set(self.live) - set(rendered) - self.retained:
            # The generator no longer lists it: the ApplicationSet deletes the Application,
            # and its resources finalizer deletes everything it had.
            delete(self.plane, self.live.pop(gone))
        return rendered


def sidecar_env(plane: ControlPlane) -> dict[str, str]:
    """The plugin sidecar's env (from the overlay, with this platform's base domain) and what
    the repo-server adds: the target cluster's version and API versions."""
    container = yaml.safe_load(SIDECAR.read_text())["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    env.update(BASE_DOMAIN=BASE_DOMAIN, AWS_ACCOUNT_ID=ACCOUNT_ID)
    env[ENVIRONMENTS_FILE_VARIABLE] = str(DEFAULT_FILE)  # what the chart mounts there
    versions = kubectl(plane, "api-versions").split()
    return {
        **env,
        "PATH": os.environ["PATH"],
        "HOME": "/tmp",
        "KUBE_VERSION": "{major}.{minor}".format(
            **json.loads(kubectl(plane, "version", "-o", "json"))["serverVersion"]
        ),
        "KUBE_API_VERSIONS": ",".join(versions),
    }


# --- the chart and the controller ------------------------------------------------------------


def mounted_environments(manifests: Sequence[Manifest], directory: Path) -> Path:
    """The chart's environments ConfigMap as the kubelet would mount it: its file."""
    (config_map,) = (
        m
        for m in manifests
        if m["kind"] == "ConfigMap" and m["metadata"]["name"].endswith("-environments")
    )
    path = directory / "environments.yaml"
    path.write_text(config_map["data"]["environments.yaml"])
    return path


def deployment_env(manifests: Sequence[Manifest]) -> dict[str, str]:
    """The chart's plain values, and the dashboard's token from the chart's Secret (the
    dashboard is closed by default)."""
    (deployment,) = (m for m in manifests if m["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    (ref,) = (
        e["valueFrom"]["secretKeyRef"] for e in container["env"] if e["name"] == "DASHBOARD_TOKEN"
    )
    (secret,) = (
        m for m in manifests if m["kind"] == "Secret" and m["metadata"]["name"] == ref["name"]
    )
    return plain_env(manifests) | {
        "DASHBOARD_TOKEN": base64.b64decode(secret["data"][ref["key"]]).decode()
    }


def service_account_kubeconfig(plane: ControlPlane, path: Path) -> Path:
    """A kubeconfig holding a token of the chart's ServiceAccount (TokenRequest API)."""
    token = kubectl(
        plane, "create", "token", SERVICE_ACCOUNT, "-n", SYSTEM_NAMESPACE, "--duration=2h"
    ).strip()
    config = yaml.safe_load(plane.kubeconfig.read_text())
    config["users"] = [{"name": SERVICE_ACCOUNT, "user": {"token": token}}]
    config["contexts"][0]["context"]["user"] = SERVICE_ACCOUNT
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def store_provider_secret(plane: ControlPlane) -> Ref:
    """The platform's identity-provider Secret, with a client for every provider."""
    data = {}
    for provider in get_args(IdentityProvider):
        data[CLIENT_ID_KEY.format(provider=provider)] = f"plattr-{provider}"
        data[CLIENT_SECRET_KEY.format(provider=provider)] = base64.b64encode(
            os.urandom(12)
        ).decode()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SECRET_NAME, "namespace": SECRET_NAMESPACE},
        "stringData": data,
    }
    kubectl(
        plane, "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=json.dumps(secret)
    )
    return ref_of(secret)


@dataclass
class RunningController:
    service: Service
    url: str
    token: str = field(repr=False)

    @property
    def services(self) -> tuple[Service, ...]:
        """For conftest: its log is shown when a test that used it fails."""
        return (self.service,)

    def get(self, path: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.get(f"{self.url}{path}", headers=headers, timeout=10)

    def api(self, collection: str) -> list[dict[str, Any]]:
        """The items of a dashboard API list."""
        answer = self.get(f"/api/v1/{collection}")
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    def requests_made(self) -> set[tuple[str, str]]:
        """(verb, resource) of every Kubernetes API request, from its own metrics."""
        text = self.get("/metrics").text
        found = set()
        for line in text.splitlines():
            if line.startswith("kube_api_requests_total{"):
                labels = dict(
                    part.split("=", 1)
                    for part in line[line.index("{") + 1 : line.index("}")].split(",")
                )
                found.add((labels["verb"].strip('"'), labels["resource"].strip('"')))
        return found


@pytest.fixture(scope="module")
def controller(
    stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningController]:
    """The chart applied, and `plattr-controller` running as its ServiceAccount."""
    plane = stack.control_plane
    scratch = tmp_path_factory.mktemp("controller")
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SYSTEM_NAMESPACE}}
    kubectl(plane, "apply", "--server-side", "-f", "-", stdin=json.dumps(namespace))
    manifests = render_chart()
    kubectl(plane, "apply", "--server-side", "-f", "-", stdin=as_list(manifests))
    # What this module leaves behind is removed afterwards: the chart's objects, the Secret,
    # and the Lease the controller held.
    leftovers = [ref_of(m) for m in manifests]
    leftovers.append(store_provider_secret(plane))
    leftovers.append(("coordination.k8s.io/v1", "Lease", SYSTEM_NAMESPACE, LEASE_NAME))
    port = free_port()
    env = {
        **controller_env(stack),
        **deployment_env(manifests),
        "PATH": os.environ["PATH"],
        "KUBECONFIG": str(service_account_kubeconfig(plane, scratch / "kubeconfig")),
        "POD_NAME": "plattr-operator-e2e",
        "METRICS_HOST": "127.0.0.1",
        "METRICS_PORT": str(port),
        ENVIRONMENTS_FILE_VARIABLE: str(mounted_environments(manifests, scratch)),
    }
    service = spawn("plattr-controller", [BIN / "plattr-controller"], scratch, env=env)
    running = RunningController(service, f"http://127.0.0.1:{port}", env["DASHBOARD_TOKEN"])
    try:
        wait_until(lambda: _ready(running), "ready and leading", TIMEOUT, service)
        yield running
    finally:
        service.stop()  # SIGTERM: it hands its lease back
        delete(plane, leftovers)


def _ready(running: RunningController) -> bool:
    try:
        return running.get("/readyz").json().get("leader") is True
    except httpx.HTTPError:
        return False


# --- the flow ----------------------------------------------------------------------------------


def status(plane: ControlPlane, ref: Ref) -> dict[str, Any]:
    _, kind, namespace, name = ref
    found = kubectl(
        plane,
        "get",
        f"{kind.lower()}s.{PLATTR_GROUP}",
        name,
        "-n",
        namespace,
        "-o",
        "json",
        "--ignore-not-found",
    )
    return json.loads(found) if found.strip() else {}


def wait_reconciled(plane: ControlPlane, ref: Ref, generation: int | None = None) -> None:
    """Running, with the generation given (or the current one) observed."""

    def done() -> bool:
        obj = status(plane, ref)
        state = obj.get("status") or {}
        wanted = generation or obj.get("metadata", {}).get("generation")
        return state.get("phase") == "Running" and state.get("observedGeneration") == wanted

    wait_until(done, f"{ref[1]} {ref[2]}/{ref[3]} Running", TIMEOUT)


def plattr_refs(rendered: dict[str, list[Manifest]]) -> list[Ref]:
    return [
        ref_of(m)
        for manifests in rendered.values()
        for m in manifests
        if m["apiVersion"].startswith(f"{PLATTR_GROUP}/")
    ]


def schema_exists(postgres: Postgres, schema: str) -> bool:
    with psycopg.connect(postgres.admin_url, autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return found is not None


def buckets(moto: Moto) -> set[str]:
    return {b["Name"] for b in moto.client("s3").list_buckets()["Buckets"]}


def realm_exists(keycloak: Keycloak, realm: str) -> bool:
    url = f"{keycloak.url}/realms/{realm}/.well-known/openid-configuration"
    return httpx.get(url, timeout=10).status_code == 200


def not_granted(made: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The requests the controller counted that the chart's RBAC does not grant (its metrics
    say GET for both get and list)."""
    verbs = {"GET": {"get", "list"}, "WATCH": {"watch"}, "POST": {"create"}, "PUT": {"update"}}
    rules = [
        rule
        for manifest in render_chart()
        if manifest["kind"] in {"ClusterRole", "Role"}
        for rule in manifest["rules"]
    ]
    return {
        (verb, resource)
        for verb, resource in made
        if not any(
            resource in rule["resources"] and verbs.get(verb, {verb.lower()}) & set(rule["verbs"])
            for rule in rules
        )
    }


def refused(service: Service) -> list[str]:
    """The lines of the controller's log that carry an authorization refusal ("<resource> ...
    is forbidden: User ... cannot <verb> ..."); the 403 for an Event in a namespace being
    deleted is not one."""
    lines = service.log.read_text().splitlines()
    return [line for line in lines if "is forbidden: User " in line]


def record_figure(name: str, value: object) -> None:
    FIGURES.parent.mkdir(exist_ok=True)
    figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    figures[name] = value
    FIGURES.write_text(json.dumps(figures, indent=2, sort_keys=True))


@pytest.fixture
def argocd(
    control_plane: ControlPlane, controller: RunningController, tmp_path: Path
) -> Iterator[ArgoCD]:
    """Argo CD over a fresh GitOps repo; afterwards every app is removed (and finalized)."""
    repo = GitOpsRepo(tmp_path / "gitops")
    objects = argocd_objects()
    (project,) = (Project(o["spec"]) for o in objects if o["kind"] == "AppProject")
    appsets = [o for o in objects if o["kind"] == "ApplicationSet"]
    argo = ArgoCD(control_plane, repo, tmp_path, sidecar_env(control_plane), project, appsets)
    yield argo
    argo.remove_all()


def test_gitops_flow_from_template_to_running_apps_and_back(  # noqa: PLR0917
    control_plane: ControlPlane,
    controller: RunningController,
    argocd: ArgoCD,
    postgres: Postgres,
    moto: Moto,
    keycloak: Keycloak,
    tmp_path: Path,
) -> None:
    started = time.perf_counter()
    repo = argocd.repo
    head = "4f2c9a1" + "0" * 33
    labelled = PullRequest("example", "storefront", 7, head)
    unlabelled = PullRequest("example", "storefront", 8, head, labels=())
    revision = repo.git("rev-parse", "HEAD")
    checkout = repo.checkout(revision, tmp_path / "checkouts")
    # 1. Every app directory and the labelled PR become Argo CD apps; all reach Running.
    rendered = argocd.sync(Sources(checkout, [labelled, unlabelled]), revision)
    assert set(rendered) == {
        "production-orders-api",
        "production-storefront",
        "staging-reports",
        "staging-storefront",
        "uat-docs-site",
        "uat-worker",
        "preview-storefront-pr-7",
    }
    crs = plattr_refs(rendered)
    for ref in crs:
        wait_reconciled(control_plane, ref)
    # The dashboard's API shows them (the controller's cache, its Events from the API server
    # under the chart's RBAC).
    listed = {(i["namespace"], i["name"], i["phase"]) for i in controller.api("applications")}
    assert {(r[2], r[3], "Running") for r in crs if r[1] == "Application"} <= listed
    previews = {(i["namespace"], i["name"], i["phase"]) for i in controller.api("previews")}
    assert {(r[2], r[3], "Running") for r in crs if r[1] == "PreviewEnvironment"} <= previews
    detail = controller.get("/api/v1/applications/staging/storefront").json()
    assert detail["eventsError"] is None
    assert detail["events"]
    record_figure("e2e_all_running_seconds", round(time.perf_counter() - started, 1))

    # 2. CI bumps an image in a commit: the new generation is reconciled.
    app_ref = next(r for r in crs if r[1] == "Application" and r[2:] == ("staging", "storefront"))
    before = status(control_plane, app_ref)["metadata"]["generation"]
    image = "123456789012.dkr.ecr.ca-central-1.amazonaws.com/plattr-apps:storefront-77aa88b"
    subprocess.run(
        [
            str(BIN / "plattr"),
            "set-image",
            "storefront",
            "--env",
            "staging",
            image,
            "--root",
            str(repo.path),
        ],
        check=True,
    )
    revision = repo.commit("storefront (staging): new image")
    checkout = repo.checkout(revision, tmp_path / "checkouts")
    argocd.sync(Sources(checkout, [labelled, unlabelled]), revision)
    after = status(control_plane, app_ref)
    assert after["metadata"]["generation"] == before + 1
    assert after["spec"]["imageRef"] == image
    wait_reconciled(control_plane, app_ref, before + 1)

    # 3. The PR closes: its preview, namespace and external resources go.
    preview = Target.preview("storefront", 7)
    assert schema_exists(postgres, preview.schema)
    assert realm_exists(keycloak, preview.realm)
    preview_buckets = {b for b in buckets(moto) if preview.env in b}
    assert preview_buckets
    argocd.sync(Sources(checkout, []), revision)
    assert "preview-storefront-pr-7" not in argocd.live
    wait_until(
        lambda: (
            not kubectl(
                control_plane, "get", "namespace", preview.namespace, "--ignore-not-found"
            ).strip()
        ),
        f"namespace {preview.namespace} gone",
        TIMEOUT,
    )
    assert not schema_exists(postgres, preview.schema)
    assert not realm_exists(keycloak, preview.realm)
    assert not preview_buckets & buckets(moto)
    record_figure("e2e_flow_seconds", round(time.perf_counter() - started, 1))

    # 4. Everything the controller asked of the API server, the chart's RBAC grants, and the
    # API server refused none of it (a refused watch is retried forever and logged).
    made = controller.requests_made()
    assert made
    assert not_granted(made) == set()
    assert refused(controller.service) == []
