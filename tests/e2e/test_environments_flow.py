"""A platform team adds an environment by changing only the environments declaration, and an
app pushed for it goes the whole way through real Argo CD: the new declaration (the stack's copy
of it, what the chart's ConfigMap is on a cluster) gives `qa` its namespace, quota and
LimitRange, a place in the ApplicationSet and the AppProject the chart renders, and reaches the
running controller and the plugin without a restart; the app is rendered, synced, provisioned
and Running, and the dashboard shows `qa` as a column of its own."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from controller.kinds import APPLICATION
from controller.web import create_app
from devstack import ArgoCD, wait_until
from devstack.argocd import platform_objects, retire_application, sidecar_env
from devstack.controlplane import redeclare
from plattr.environments import DEFAULT_FILE
from tests.support.controller_harness import Harness, running_controller
from tests.support.stack import LocalStack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

ENVIRONMENT, APP = "qa", "greeter"
ARGO_APP = f"{ENVIRONMENT}-{APP}"
TIMEOUT = 180.0
QA = {
    "name": ENVIRONMENT,
    "quota": {"requests.cpu": "2", "requests.memory": "4Gi", "limits.memory": "8Gi", "pods": "20"},
    "limits": {"defaultRequest": {"cpu": "50m", "memory": "64Mi"}, "default": {"memory": "256Mi"}},
}


def git(path: Path, *args: str) -> str:
    argv = ["git", "-C", str(path), "-c", "user.name=dev", "-c", "user.email=dev@test"]
    done = subprocess.run([*argv, *args], capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def push_app(url: str, clone: Path) -> str:
    """A developer's first app in `qa`: its directory apps/qa/<app>, pushed to main."""
    subprocess.run(["git", "clone", "--quiet", url, str(clone)], check=True, timeout=60)
    git(clone, "checkout", "-B", "main")
    settings = Path(__file__).resolve().parents[2] / "gitops-repo-template/plattr-settings.yaml"
    (clone / "plattr-settings.yaml").write_text(settings.read_text())
    app_dir = clone / "apps" / ENVIRONMENT / APP
    app_dir.mkdir(parents=True)
    spec = {
        "apiVersion": "platform.internal/v1alpha1",
        "kind": "Application",
        "metadata": {"name": APP},
        "spec": {
            "framework": "custom",
            "environment": ENVIRONMENT,
            "imageRef": "registry.example.test/greeter:1.0.0",
            "port": 8080,
            "ingress": {"enabled": False},
            "database": {"enabled": True},
        },
    }
    (app_dir / "application.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    git(clone, "add", "--all")
    git(clone, "commit", "--quiet", "--message", f"Add {APP} to {ENVIRONMENT}")
    git(clone, "push", "--quiet", "origin", "main")
    return git(clone, "rev-parse", "HEAD")


@pytest.fixture
def declared_qa(
    argo_cd: ArgoCD, stack: LocalStack, tmp_path: Path
) -> Iterator[tuple[ArgoCD, Harness]]:
    """The controller runs on the stack's declaration; then the declaration, and only it,
    gains `qa`. Afterwards the app is retired as docs/environments.md says (its directory
    removed, then `argocd app delete`) and the declaration is the shipped one again."""
    before = argo_cd.environments_file.read_text()
    env = {"BASE_DOMAIN": sidecar_env()["BASE_DOMAIN"]}
    env["PLATTR_ENVIRONMENTS_FILE"] = str(argo_cd.environments_file)
    with running_controller(stack, **env) as harness:
        shipped = yaml.safe_load(DEFAULT_FILE.read_text())["environments"]
        redeclare(stack.control_plane, yaml.safe_dump({"environments": [*shipped, QA]}))
        objects = platform_objects(argo_cd.repo.url, argo_cd.environments_file)
        for obj in objects:
            argo_cd.api.apply(obj)
        try:
            yield argo_cd, harness
        finally:
            clone = tmp_path / "clone"
            if (clone / "apps" / ENVIRONMENT).exists():
                git(clone, "rm", "-r", "--quiet", f"apps/{ENVIRONMENT}")
                git(clone, "commit", "--quiet", "--message", f"Retire {APP} from {ENVIRONMENT}")
                git(clone, "push", "--quiet", "origin", "main")
            retire_application(argo_cd, ARGO_APP, TIMEOUT)
            harness.wait_gone(APPLICATION, ENVIRONMENT, APP)
            redeclare(stack.control_plane, before)


def argo_status(argo_cd: ArgoCD) -> dict[str, Any]:
    status: dict[str, Any] = (argo_cd.application(ARGO_APP) or {}).get("status") or {}
    return status


def test_an_environment_added_to_the_declaration_runs_a_pushed_app_in_its_own_column(
    declared_qa: tuple[ArgoCD, Harness], tmp_path: Path
) -> None:
    argo_cd, harness = declared_qa
    namespace = argo_cd.api.get(f"/api/v1/namespaces/{ENVIRONMENT}") or {}
    assert namespace["metadata"]["labels"]["platform.internal/environment"] == ENVIRONMENT
    quota = argo_cd.api.get(f"/api/v1/namespaces/{ENVIRONMENT}/resourcequotas/plattr-quota")
    assert (quota or {})["spec"]["hard"] == QA["quota"]

    revision = push_app(argo_cd.repo.url, tmp_path / "clone")
    wait_until(lambda: argo_cd.application(ARGO_APP) is not None, f"{ARGO_APP} made", TIMEOUT)
    wait_until(
        lambda: (
            (argo_status(argo_cd).get("sync") or {}).get("revision") == revision
            and argo_status(argo_cd)["sync"].get("status") == "Synced"
        ),
        f"{ARGO_APP} Synced (automatic: qa is declared with the default sync)",
        TIMEOUT,
    )
    application = argo_cd.application(ARGO_APP) or {}
    assert application["spec"]["destination"]["namespace"] == ENVIRONMENT
    running = harness.wait_phase(APPLICATION, ENVIRONMENT, APP, "Running")
    assert running["observedGeneration"] == 1

    controller = harness.controller
    web = TestClient(create_app(controller.view, controller.settings.dashboard))
    listed = web.get("/api/v1/environments").json()["items"]
    assert [e["name"] for e in listed] == ["production", "staging", "uat", ENVIRONMENT]
    apps = web.get(f"/api/v1/applications?environment={ENVIRONMENT}").json()["items"]
    assert [(a["name"], a["phase"]) for a in apps] == [(APP, "Running")]
    board = web.get("/").text
    columns = re.findall(r'data-column="([^"]+)"', board)
    assert columns[:4] == ["production", "staging", "uat", ENVIRONMENT]
    column = board.split(f'data-column="{ENVIRONMENT}"', 1)[1].split("<section", 1)[0]
    assert APP in column
