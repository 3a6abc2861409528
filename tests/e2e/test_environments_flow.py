"""A platform team adds an environment by changing only the environments declaration, and an
app pushed for it goes the whole way through real Argo CD: the new declaration (the stack's copy
of it, what the chart's ConfigMap is on a cluster) gives `qa` its namespace, quota and
LimitRange, a place in the ApplicationSet and the AppProject the chart renders, and reaches the
running controller and the plugin without a restart; the app is rendered, synced, provisioned
and Running, and the dashboard shows `qa` as a column of its own."""

from __future__ import annotations

import re
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
from devstack.gitclone import Clone
from plattr.environments import DEFAULT_FILE
from tests.support.controller_harness import Harness, running_controller
from tests.support.greeter import greeter
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


def push_app(url: str, clone_dir: Path) -> str:
    """A developer's first app in `qa`: its directory apps/qa/<app>, pushed to main."""
    clone = Clone.of(url, clone_dir)
    settings = Path(__file__).resolve().parents[2] / "gitops-repo-template/plattr-settings.yaml"
    (clone.path / "plattr-settings.yaml").write_text(settings.read_text())
    clone.write_app(greeter(ENVIRONMENT))
    return clone.push(f"Add {APP} to {ENVIRONMENT}")


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
            if (tmp_path / "clone" / "apps" / ENVIRONMENT).exists():
                clone = Clone(tmp_path / "clone")
                clone.git("rm", "-r", "--quiet", f"apps/{ENVIRONMENT}")
                clone.push(f"Retire {APP} from {ENVIRONMENT}")
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
