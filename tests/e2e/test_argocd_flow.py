"""The GitOps flow through real Argo CD only: a developer clones the GitOps repo, adds an app
directory and pushes; the push reaches Argo CD by webhook, the ApplicationSet the chart renders
from the environments declaration makes an Argo CD Application, the repo-server renders it with
Plattr's plugin (argocd-cmp-server running `plattr-cmp generate`), Argo CD syncs it, and the
controller provisions the Plattr Application until it runs. Nothing here applies an app's
manifests itself.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.kinds import APPLICATION
from devstack import ArgoCD, wait_until
from devstack.argocd import (
    NAMESPACE,
    TEMPLATE,
    platform_objects,
    retire_application,
    seed_gitops_repo,
    sidecar_env,
)
from devstack.gitclone import Clone
from tests.support.controller_harness import Harness, running_controller
from tests.support.greeter import greeter
from tests.support.stack import LocalStack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

ENVIRONMENT = "staging"
APP = "greeter"
ARGO_APP = f"{ENVIRONMENT}-{APP}"  # the ApplicationSet's name template: <env>-<app>
ARGO_API = f"/apis/argoproj.io/v1alpha1/namespaces/{NAMESPACE}"
TIMEOUT = 180.0
FIGURES = Path("test-artifacts") / "argocd-figures.json"
EXTRA_CONFIG_MAP = {  # a kind the AppProject does not allow in an app
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": f"{APP}.extra"},
    "data": {"greeting": "hello"},
}


def spec(**overrides: Any) -> dict[str, Any]:
    return greeter(ENVIRONMENT, **overrides)


@pytest.fixture(scope="module")
def gitops(
    argo_cd: ArgoCD, stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ArgoCD, Harness]]:
    """The repo holds the template's settings; the chart's AppProject and ApplicationSet point
    at it; the controller runs. Afterwards the app is retired as a person does it
    (`argocd app delete`: what it deployed goes), then the ApplicationSet."""
    content = tmp_path_factory.mktemp("gitops-content")
    (content / "plattr-settings.yaml").write_text((TEMPLATE / "plattr-settings.yaml").read_text())
    seed_gitops_repo(argo_cd, content)
    objects = platform_objects(argo_cd.repo.url, argo_cd.environments_file)
    # the controller shares the plugin sidecar's base domain (hosts, redirect URLs)
    with running_controller(stack, BASE_DOMAIN=sidecar_env()["BASE_DOMAIN"]) as harness:
        for obj in objects:
            argo_cd.api.apply(obj)
        # Developers push once the platform is in place: the ApplicationSet's first
        # reconcile is over (a push's webhook during it is folded into it, and the push then
        # waits for the 3-minute requeue).
        wait_until(lambda: reconciled(argo_cd), "ApplicationSet plattr-apps reconciled", TIMEOUT)
        try:
            yield argo_cd, harness
        finally:
            retire_application(argo_cd, ARGO_APP, TIMEOUT)
            for obj in objects:
                if obj["kind"] == "ApplicationSet":
                    argo_cd.api.request(
                        "DELETE", f"{ARGO_API}/applicationsets/{obj['metadata']['name']}"
                    )
            wait_until(lambda: argo_cd.application(ARGO_APP) is None, f"{ARGO_APP} gone", TIMEOUT)
            harness.wait_gone(APPLICATION, ENVIRONMENT, APP)


def reconciled(argo_cd: ArgoCD) -> bool:
    """The apps' ApplicationSet says its Applications are up to date."""
    found = argo_cd.api.get(f"{ARGO_API}/applicationsets/plattr-apps") or {}
    conditions = (found.get("status") or {}).get("conditions") or []
    return any(
        c.get("type") == "ResourcesUpToDate" and c.get("status") == "True" for c in conditions
    )


def argo_status(argo_cd: ArgoCD) -> dict[str, Any]:
    status: dict[str, Any] = (argo_cd.application(ARGO_APP) or {}).get("status") or {}
    return status


def synced_at(argo_cd: ArgoCD, revision: str) -> bool:
    sync = argo_status(argo_cd).get("sync") or {}
    return sync.get("status") == "Synced" and sync.get("revision") == revision


def operation(argo_cd: ArgoCD) -> dict[str, Any]:
    state: dict[str, Any] = argo_status(argo_cd).get("operationState") or {}
    return state


def operation_succeeded_at(argo_cd: ArgoCD, revision: str) -> bool:
    """The last sync operation synced `revision` and is over (the comparison alone can say
    Synced while a retrying operation is still running)."""
    state = operation(argo_cd)
    synced = (state.get("syncResult") or {}).get("revision")
    return state.get("phase") == "Succeeded" and synced == revision


def retrying(argo_cd: ArgoCD, revision: str) -> bool:
    """A sync of `revision` failed and Argo CD is retrying it."""
    state = operation(argo_cd)
    synced = ((state.get("operation") or {}).get("sync") or {}).get("revision")
    return synced == revision and state.get("retryCount", 0) >= 1


def comparison_errors(argo_cd: ArgoCD) -> list[str]:
    conditions = argo_status(argo_cd).get("conditions") or []
    return [c.get("message", "") for c in conditions if c.get("type") == "ComparisonError"]


def record_figures(figures: dict[str, float]) -> None:
    FIGURES.parent.mkdir(exist_ok=True)
    known = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    FIGURES.write_text(json.dumps(known | figures, indent=2, sort_keys=True))


def test_a_push_reaches_the_cluster_through_argocd_and_a_bad_spec_stops_at_argocd(
    gitops: tuple[ArgoCD, Harness], tmp_path: Path
) -> None:
    argo_cd, harness = gitops
    clone = Clone.of(argo_cd.repo.url, tmp_path / "clone")

    # 1. A new app directory, pushed: Argo CD makes the Application, syncs it, and the
    # controller provisions the app until it runs.
    clone.write_app(spec())
    started = time.monotonic()
    revision = clone.push(f"Add {APP}")
    wait_until(lambda: argo_cd.application(ARGO_APP) is not None, f"{ARGO_APP} made", TIMEOUT)
    made = time.monotonic() - started
    wait_until(lambda: synced_at(argo_cd, revision), f"{ARGO_APP} Synced", TIMEOUT)
    synced = time.monotonic() - started
    running = harness.wait_phase(APPLICATION, ENVIRONMENT, APP, "Running")
    to_running = time.monotonic() - started
    wait_until(
        lambda: (argo_status(argo_cd).get("health") or {}).get("status") == "Healthy",
        f"{ARGO_APP} Healthy",
        TIMEOUT,
    )
    application = argo_cd.application(ARGO_APP) or {}
    assert application["spec"]["source"]["plugin"]["name"] == "plattr-v1"
    assert application["spec"]["destination"]["namespace"] == ENVIRONMENT
    assert running["observedGeneration"] == 1
    kinds = {r["kind"] for r in argo_status(argo_cd)["resources"]}
    assert {"Application", "Deployment", "Service", "ServiceAccount"} <= kinds

    # 2. An invalid spec, pushed: the plugin's message shows on the Argo CD Application, and
    # the running app keeps its spec (Argo CD applies nothing it cannot render).
    clone.write_app(spec(scaling={"min": 5, "max": 2}))
    bad = clone.push(f"Break {APP}")
    wait_until(lambda: bool(comparison_errors(argo_cd)), f"{ARGO_APP} ComparisonError", TIMEOUT)
    (message,) = comparison_errors(argo_cd)
    assert "plattr-cmp" in message
    assert "spec.scaling: min (5) is greater than max (2)" in message
    live = harness.get(APPLICATION, ENVIRONMENT, APP) or {}
    assert live["metadata"]["generation"] == 1
    assert "scaling" not in live["spec"]
    assert harness.status(APPLICATION, ENVIRONMENT, APP)["phase"] == "Running"
    assert bad != revision

    # 3. Fixed, pushed: Argo CD renders and syncs again.
    clone.write_app(spec())
    fixed = clone.push(f"Fix {APP}")
    wait_until(lambda: synced_at(argo_cd, fixed), f"{ARGO_APP} Synced again", TIMEOUT)
    assert comparison_errors(argo_cd) == []

    # 4. A kind the AppProject refuses (a kustomization adding a ConfigMap), pushed: the sync
    # fails and Argo CD retries it. The fix pushed next is what the following retry syncs
    # (`retry.refresh`), not only after the refused revision's retries run out (10 + 20 + 40
    # + 80 + 160 s): the operation succeeds at the fix within the next backoff (20 s).
    app_dir = clone.write_app(spec())
    (app_dir / "extra.yaml").write_text(yaml.safe_dump(EXTRA_CONFIG_MAP))
    (app_dir / "kustomization.yaml").write_text(yaml.safe_dump({"resources": ["extra.yaml"]}))
    refused = clone.push(f"Give {APP} a ConfigMap")
    wait_until(lambda: retrying(argo_cd, refused), f"{ARGO_APP} retrying {refused}", TIMEOUT)
    results = (operation(argo_cd).get("syncResult") or {}).get("resources") or []
    refusals = {r.get("kind"): r.get("message", "") for r in results if r.get("status")}
    assert "not permitted in project" in refusals.get("ConfigMap", ""), refusals
    (app_dir / "extra.yaml").unlink()
    (app_dir / "kustomization.yaml").unlink()
    pushed = time.monotonic()
    fix = clone.push(f"Take the ConfigMap from {APP} again")
    wait_until(lambda: operation_succeeded_at(argo_cd, fix), f"{ARGO_APP} sync of the fix", TIMEOUT)
    fix_to_synced = time.monotonic() - pushed

    # 5. The directory removed: the app keeps running (a configuration change deletes
    # nothing) until a person retires it, `argocd app delete` (the fixture does it).
    subprocess.run(["git", "-C", str(clone.path), "rm", "-r", "--quiet", "apps"], check=True)
    clone.push(f"Remove {APP}")
    assert harness.status(APPLICATION, ENVIRONMENT, APP)["phase"] == "Running"

    record_figures(
        {
            "push_to_argocd_application_s": round(made, 2),
            "push_to_synced_s": round(synced, 2),
            "push_to_running_s": round(to_running, 2),
            "fix_push_to_synced_over_a_retrying_sync_s": round(fix_to_synced, 2),
        }
    )
