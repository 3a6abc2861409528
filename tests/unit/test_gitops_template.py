"""The GitOps wiring: the AppProject allows exactly what the renderer emits, the ApplicationSets
(rendered by the chart from the environments declaration, with the template's values) generate
the apps the template holds (through the e2e test's expander), the platform apps point at what
exists, and the workflows have the shape GitHub runs safely."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.cmp import Setting, setting
from plattr.environments import DEFAULT_FILE, ENVIRONMENTS_FILE_VARIABLE
from plattr.naming import Target
from renderer.options import PreviewParams, RenderOptions
from renderer.pipeline import render_paths
from tests.support.applicationsets import (
    PullRequest,
    Sources,
    UnsupportedTemplate,
    applications,
    substitute,
)
from tests.support.chart import CHART, argocd_objects

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "gitops-repo-template"
WORKFLOWS = TEMPLATE / ".github" / "workflows"
ENVIRONMENTS = ("production", "staging", "uat")
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+\.\d+\.\d+|[0-9a-f]{40})$")
SHA = "4f2c9a1" + "0" * 33


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def template_values() -> dict[str, Any]:
    """The chart values the template's platform/plattr.yaml installs the platform with."""
    app = load(TEMPLATE / "platform" / "plattr.yaml")
    values: dict[str, Any] = app["spec"]["source"]["helm"]["valuesObject"]
    return values


def appsets(values: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    objects = argocd_objects(template_values() if values is None else values)
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == "ApplicationSet"}


def project(values: dict[str, Any] | None = None) -> dict[str, Any]:
    objects = argocd_objects(template_values() if values is None else values)
    (spec,) = (o["spec"] for o in objects if o["kind"] == "AppProject")
    return dict(spec)


def generated(pull_requests: list[PullRequest]) -> dict[str, dict[str, Any]]:
    sources = Sources(TEMPLATE, pull_requests)
    return {
        app["metadata"]["name"]: app
        for appset in appsets().values()
        for app in applications(appset, sources)
    }


# --- AppProject ---------------------------------------------------------------------------


def rendered_kinds() -> set[tuple[str, str, bool]]:
    """(group, kind, namespaced) of everything the renderer emits for the template's apps, and
    for the previews of the apps listed in previews/."""
    options = RenderOptions(base_domain="apps.example.com", aws_account_id="123456789012")
    preview = RenderOptions(
        base_domain="apps.example.com",
        aws_account_id="123456789012",
        preview=PreviewParams(pull_request=7, head_sha=SHA),
    )
    renders = [(app, options) for app in sorted(TEMPLATE.glob("apps/*/*"))]
    for listed in sorted(TEMPLATE.glob("previews/*.yaml")):
        entry = load(listed)
        renders.append((TEMPLATE / "apps" / entry["environment"] / entry["app"], preview))
    found = set()
    for app, each in renders:
        for manifest in render_paths([str(app)], each, recursive=False):
            group = manifest["apiVersion"].rpartition("/")[0]
            found.add((group, manifest["kind"], "namespace" in manifest["metadata"]))
    return found


@pytest.mark.needs_tools
def test_project_allows_exactly_the_kinds_the_renderer_emits() -> None:
    spec = project()
    allowed = {(r["group"], r["kind"], True) for r in spec["namespaceResourceWhitelist"]} | {
        (r["group"], r["kind"], False) for r in spec["clusterResourceWhitelist"]
    }
    assert allowed == rendered_kinds()


@pytest.mark.needs_tools
def test_project_destinations_are_the_environments_and_previews() -> None:
    namespaces = [d["namespace"] for d in project()["destinations"]]
    assert namespaces == [*ENVIRONMENTS, "preview-*"]
    assert Target.preview("storefront", 7).namespace.startswith("preview-")


# --- ApplicationSets ------------------------------------------------------------------------

QA: dict[str, Any] = {"name": "qa", "namespace": "quality", "sync": "automatic"}
LAB: dict[str, Any] = {"name": "lab", "sync": "manual", "previews": True}


def declared(*extra: dict[str, Any]) -> dict[str, Any]:
    """The template's values with the shipped environments and `extra` declared after them."""
    shipped = load(CHART / "values.yaml")["environments"]
    return {**template_values(), "environments": [*shipped, *extra]}


@pytest.mark.needs_tools
def test_one_applicationset_over_the_declared_environments_and_their_app_directories(
    tmp_path: Path,
) -> None:
    """A declared environment gets Applications for its directories, in its namespace, synced
    by Argo CD only when declared `sync: automatic`; nothing is deleted by a change."""
    (tmp_path / "apps" / "qa" / "shop").mkdir(parents=True)
    (tmp_path / "apps" / "lab" / "tool").mkdir(parents=True)
    (tmp_path / "apps" / "undeclared" / "x").mkdir(parents=True)
    values = declared(QA, LAB)
    (appset,) = (a for name, a in appsets(values).items() if name != "plattr-previews")
    assert appset["spec"]["syncPolicy"] == {
        "applicationsSync": "create-update",
        "preserveResourcesOnDeletion": True,
    }
    generated = applications(appset, Sources(tmp_path))
    for app in generated:  # a push re-renders only the apps it changed
        assert app["metadata"]["annotations"] == {"argocd.argoproj.io/manifest-generate-paths": "."}
    apps = {a["metadata"]["name"]: a["spec"] for a in generated}
    assert set(apps) == {"qa-shop", "lab-tool"}
    assert apps["qa-shop"]["destination"]["namespace"] == "quality"
    assert apps["qa-shop"]["source"]["path"] == "apps/qa/shop"
    assert apps["qa-shop"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    # a failing sync is retried with the newest revision: a fixing push supersedes it
    assert apps["qa-shop"]["syncPolicy"]["retry"]["refresh"] is True
    assert "automated" not in apps["lab-tool"]["syncPolicy"]  # a person syncs
    assert apps["lab-tool"]["destination"]["namespace"] == "lab"
    plugin = load(ROOT / "argocd" / "plugin.yaml")
    assert apps["qa-shop"]["source"]["plugin"]["name"] == (
        f"{plugin['metadata']['name']}-{plugin['spec']['version']}"
    )
    assert apps["qa-shop"]["project"] == "plattr-apps"
    namespaces = [d["namespace"] for d in project(values)["destinations"]]
    assert namespaces == [*ENVIRONMENTS, "quality", "lab", "preview-*"]


@pytest.mark.needs_tools
def test_previews_only_for_environments_declared_with_previews(tmp_path: Path) -> None:
    (tmp_path / "previews").mkdir()
    for app, environment in (("a", "production"), ("b", "staging"), ("c", "lab")):
        entry = {"app": app, "environment": environment, "owner": "o", "repo": app}
        (tmp_path / "previews" / f"{app}.yaml").write_text(yaml.safe_dump(entry))
    pulls = [PullRequest("o", name, 3, SHA) for name in "abc"]
    previews = appsets(declared(LAB))["plattr-previews"]
    names = {a["metadata"]["name"] for a in applications(previews, Sources(tmp_path, pulls))}
    assert names == {"preview-b-pr-3", "preview-c-pr-3"}


@pytest.mark.needs_tools
def test_production_is_frozen_by_a_sync_window_of_the_project() -> None:
    (window,) = project()["syncWindows"]
    assert window["kind"] == "deny"
    assert window["manualSync"] is False
    names = generated([])
    matched = {
        n
        for n in names
        if any(re.fullmatch(p.replace("*", ".*"), n) for p in window["applications"])
    }
    assert matched == {n for n in names if n.startswith("production-")}


@pytest.mark.needs_tools
def test_applicationsets_generate_an_app_per_directory_and_per_labelled_pull_request() -> None:
    labelled = PullRequest("example", "storefront", 7, SHA)
    others = [
        PullRequest("example", "storefront", 8, SHA, labels=("wip",)),
        PullRequest("example", "not-listed", 9, SHA),
    ]
    apps = generated([labelled, *others])
    directories = {f"{p.parent.name}-{p.name}" for p in TEMPLATE.glob("apps/*/*")}
    assert set(apps) == directories | {"preview-storefront-pr-7"}
    for name in directories:
        environment, _, app = name.partition("-")
        assert apps[name]["spec"]["source"]["path"] == f"apps/{environment}/{app}"


@pytest.mark.needs_tools
def test_preview_app_carries_the_pull_request_to_the_plugin() -> None:
    app = generated([PullRequest("example", "storefront", 7, SHA)])["preview-storefront-pr-7"]
    assert "resources-finalizer.argocd.argoproj.io" in app["metadata"]["finalizers"]
    spec = app["spec"]
    assert spec["destination"]["namespace"] == Target.preview("storefront", 7).namespace
    env = {f"ARGOCD_ENV_{e['name']}": e["value"] for e in spec["source"]["plugin"]["env"]}
    assert setting(env, "preview-pr", {}) == Setting("7", "ARGOCD_ENV_PREVIEW_PR")
    assert setting(env, "preview-head-sha", {}) == Setting(SHA, "ARGOCD_ENV_PREVIEW_HEAD_SHA")
    appset = appsets()["plattr-previews"]
    (matrix,) = appset["spec"]["generators"]
    pulls = matrix["matrix"]["generators"][1]["pullRequest"]
    assert pulls["github"]["labels"] == ["preview"]
    assert pulls["requeueAfterSeconds"] > 0


@pytest.mark.needs_tools
def test_preview_render_makes_its_namespace_a_managed_resource(tmp_path: Path) -> None:
    app = generated([PullRequest("example", "storefront", 7, SHA)])["preview-storefront-pr-7"]
    sidecar = load(ROOT / "argocd" / "repo-server" / "plattr-sidecar.yaml")
    (container,) = sidecar["spec"]["template"]["spec"]["containers"]
    env = {
        "PATH": str(BIN),
        "HOME": str(tmp_path),
        **{e["name"]: e["value"] for e in container["env"]},  # the platform's settings
        ENVIRONMENTS_FILE_VARIABLE: str(DEFAULT_FILE),  # what the chart mounts there
        "ARGOCD_APP_NAME": app["metadata"]["name"],
        "ARGOCD_APP_SOURCE_PATH": app["spec"]["source"]["path"],
        **{f"ARGOCD_ENV_{e['name']}": e["value"] for e in app["spec"]["source"]["plugin"]["env"]},
    }
    result = subprocess.run(
        [str(BIN / "plattr-cmp"), "generate"],
        cwd=TEMPLATE / app["spec"]["source"]["path"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    manifests = [m for m in yaml.safe_load_all(result.stdout) if m]
    namespaces = [m["metadata"]["name"] for m in manifests if m["kind"] == "Namespace"]
    assert namespaces == [app["spec"]["destination"]["namespace"]]


def test_expander_refuses_templates_it_does_not_implement() -> None:
    with pytest.raises(UnsupportedTemplate):
        substitute("{{ .name | upper }}", {"name": "x"})
    with pytest.raises(KeyError, match="missing"):
        substitute("{{.missing}}", {"name": "x"})


def test_argocd_tracks_resources_by_annotation_in_both_installs() -> None:
    """The renderer owns app.kubernetes.io/instance (the controller reads it): Argo CD's label
    tracking would overwrite it, so both the overlay and the Helm values switch to annotations."""
    repo_server = ROOT / "argocd" / "repo-server"
    values = load(repo_server / "argo-cd-values.yaml")
    assert values["configs"]["cm"]["application.resourceTrackingMethod"] == "annotation"
    patches = [p["path"] for p in load(repo_server / "kustomization.yaml")["patches"]]
    config_maps = [load(repo_server / p) for p in patches]
    (cm,) = [c for c in config_maps if c["metadata"]["name"] == "argocd-cm"]
    assert cm["data"]["application.resourceTrackingMethod"] == "annotation"


# --- platform/ -------------------------------------------------------------------------------


def test_platform_app_installs_the_chart_with_documented_values() -> None:
    app = load(TEMPLATE / "platform" / "plattr.yaml")
    source = app["spec"]["source"]
    assert (ROOT / source["path"]) == CHART
    values = source["helm"]["valuesObject"]
    chart_values = load(CHART / "values.yaml")
    assert set(values) <= set(chart_values)
    assert set(values["serviceAccount"]) <= set(chart_values["serviceAccount"])
    assert "PASSWORD" not in " ".join(values["env"])  # passwords stay in Secrets


@pytest.mark.needs_tools
def test_platform_app_points_the_argocd_objects_at_this_repo() -> None:
    repo = template_values()["argocd"]["repoURL"]
    objects = argocd_objects(template_values())
    assert len(objects) == 3  # the AppProject, the apps' and the previews' ApplicationSets
    text = yaml.safe_dump_all(objects)
    assert set(re.findall(r"https://github\.com/[\w./-]+", text)) == {repo}


def test_platform_root_app_syncs_the_platform_directory() -> None:
    root = load(TEMPLATE / "platform" / "root.yaml")
    assert root["spec"]["source"]["path"] == "platform"
    assert (TEMPLATE / "platform" / "root.yaml").exists()


# --- workflows --------------------------------------------------------------------------------


def workflows() -> dict[str, dict[str, Any]]:
    return {p.stem: load(p) for p in sorted(WORKFLOWS.glob("*.yml"))}


def steps(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, job in workflow["jobs"].items():
        for step in job["steps"]:
            yield name, step


def test_workflows_are_the_three_flows() -> None:
    assert set(workflows()) == {"app-ci", "validate", "preview"}
    triggers = {name: w[True] for name, w in workflows().items()}  # YAML 1.1: `on` is True
    assert "workflow_call" in triggers["app-ci"]
    assert "workflow_call" in triggers["preview"]
    assert "pull_request" in triggers["validate"]


@pytest.mark.parametrize("name", ["app-ci", "validate", "preview"])
def test_permissions_are_least_privilege(name: str) -> None:
    workflow = workflows()[name]
    assert workflow["permissions"] == {}
    for job_name, job in workflow["jobs"].items():
        permissions = job["permissions"]
        uses_oidc = any(
            s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
            for s in job["steps"]
        )
        assert (permissions.get("id-token") == "write") == uses_oidc, job_name
        assert all(v in {"read", "write"} for v in permissions.values())
        assert set(permissions) <= {"id-token", "contents", "pull-requests"}


@pytest.mark.parametrize("name", ["app-ci", "validate", "preview"])
def test_actions_are_pinned_to_exact_versions(name: str) -> None:
    for job, step in steps(workflows()[name]):
        if "uses" in step:
            assert PINNED.match(step["uses"]), f"{job}: {step['uses']}"


def run_lines(workflow: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for _, step in steps(workflow))


def test_app_ci_pushes_through_the_cicd_stack_roles_and_bumps_with_set_image() -> None:
    workflow = workflows()["app-ci"]
    role = workflow["env"]["DEPLOY_ROLE"]
    assert "github-plattr-prod-deploy" in role
    assert "github-plattr-ci-deploy" in role
    assert "plattr-apps:" in run_lines(workflow)
    assert 'plattr set-image "$APP" --env "$ENVIRONMENT" "$IMAGE"' in run_lines(workflow)
    # The roles trust jobs of the GitHub environments (cdk/README.md, "CI/CD roles").
    assert workflow["jobs"]["build"]["environment"] == "${{ inputs.environment }}"


def test_preview_builds_only_labelled_pull_requests_with_the_tag_the_plugin_renders() -> None:
    workflow = workflows()["preview"]
    assert "'preview'" in workflow["jobs"]["build"]["if"]
    (push,) = (s for _, s in steps(workflow) if s.get("uses", "").startswith("docker/build-push"))
    assert push["with"]["tags"].endswith(
        "/plattr-previews:${{ inputs.app }}-${{ github.event.pull_request.head.sha }}"
    )
    (credentials,) = (
        s for _, s in steps(workflow) if s.get("uses", "").startswith("aws-actions/configure")
    )
    assert credentials["with"]["role-to-assume"].endswith(":role/github-plattr-preview")
    assert "environment" not in workflow["jobs"]["build"]  # its subject is `pull_request`


def git(repo: Path, *args: str) -> str:
    env = {
        "PATH": str(Path(shutil.which("git") or "git").parent),
        "HOME": str(repo),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.test",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.test",
    }
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    ).stdout


def test_validation_workflow_commands_run_on_the_template(tmp_path: Path) -> None:
    """What validate.yml runs, on a copy of the template with a changed image: the spec is
    valid and the diff shows the change."""
    workflow = workflows()["validate"]
    run = run_lines(workflow)
    assert "plattr validate apps" in run
    assert "plattr diff origin/main HEAD --path apps" in run
    repo = tmp_path / "gitops"
    shutil.copytree(TEMPLATE, repo)
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "template")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    image = "123456789012.dkr.ecr.ca-central-1.amazonaws.com/plattr-apps:worker-5e6f7a8"
    plattr = str(BIN / "plattr")
    subprocess.run([plattr, "set-image", "worker", "--env", "uat", image], cwd=repo, check=True)
    git(repo, "commit", "--quiet", "-am", "worker: new image")
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        **workflow["jobs"]["validate"]["env"],  # the platform settings the workflow sets
    }
    subprocess.run([plattr, "validate", "apps"], cwd=repo, env=env, check=True)
    diff = subprocess.run(
        [plattr, "diff", "origin/main", "HEAD", "--path", "apps"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert image in diff
