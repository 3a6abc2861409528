"""The plugin as Argo CD's CMP v2 sidecar runs it: a subprocess in the app's source directory,
Argo CD's environment, stdout parsed as a manifest stream, errors as non-zero + stderr."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.support.argocd_env import CAPTURES, NO_PARAMETERS, captured, plugin_env

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE_APPS = ROOT / "gitops-repo-template" / "apps"
PLUGIN = [sys.executable, "-c", "from cli.cmp import main; main()", "generate"]
SECRET_MARKERS = ("PGPASSWORD", "password", "clientSecret", "OIDC_CLIENT_SECRET:")


def argocd_env(app_dir: Path, **extra: str) -> dict[str, str]:
    """The environment real Argo CD gives the sidecar for the app at `app_dir` (a template
    app at apps/<env>/<app>, synced into <env> as the environment ApplicationSets do)."""
    environment = app_dir.parent.name
    return plugin_env(
        app_dir,
        app_name=f"{environment}-{app_dir.name}",
        source_path=str(app_dir.relative_to(app_dir.parents[2])),
        destination_namespace=environment,
        **extra,
    )


def generate(app_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        PLUGIN, cwd=app_dir, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def gitops(tmp_path: Path) -> Path:
    """A copy of the template's apps, laid out as in a GitOps repo checkout."""
    shutil.copytree(TEMPLATE_APPS, tmp_path / "repo" / "apps")
    return tmp_path / "repo" / "apps"


APP_DIRS = sorted(
    p.parent.relative_to(TEMPLATE_APPS)
    for p in TEMPLATE_APPS.glob("*/*/*.yaml")
    if p.name == "application.yaml"
)


@pytest.mark.parametrize("app", APP_DIRS, ids=str)
def test_every_template_app_renders_to_a_manifest_stream_only(gitops: Path, app: Path) -> None:
    result = generate(gitops / app, argocd_env(gitops / app))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    documents = list(yaml.safe_load_all(result.stdout))
    assert documents
    for document in documents:
        assert {"apiVersion", "kind", "metadata"} <= document.keys()
    assert not any(marker in result.stdout for marker in SECRET_MARKERS)


def test_output_matches_the_golden_render_and_is_byte_identical_each_time(gitops: Path) -> None:
    app = gitops / "production" / "storefront"
    result = generate(app, argocd_env(app))
    golden = (ROOT / "tests" / "golden" / "production" / "storefront.yaml").read_text()
    assert list(yaml.safe_load_all(result.stdout)) == list(yaml.safe_load_all(golden))
    assert generate(app, argocd_env(app)).stdout == result.stdout


def test_plugin_parameters_and_env_override_the_sidecar_settings(gitops: Path) -> None:
    app = gitops / "uat" / "docs-site"
    parameters = json.dumps([{"name": "base-domain", "string": "param.example.org"}])
    result = generate(
        app,
        argocd_env(app, ARGOCD_ENV_BASE_DOMAIN="env.example.org", ARGOCD_APP_PARAMETERS=parameters),
    )
    assert "docs-site.uat.param.example.org" in result.stdout
    result = generate(app, argocd_env(app, ARGOCD_ENV_BASE_DOMAIN="env.example.org"))
    assert "docs-site.uat.env.example.org" in result.stdout
    result = generate(app, argocd_env(app, PARAM_BASE_DOMAIN="p.example.org"))
    assert "docs-site.uat.p.example.org" in result.stdout


def test_a_preview_from_plugin_env(gitops: Path) -> None:
    app = gitops / "staging" / "storefront"
    env = argocd_env(
        app,
        ARGOCD_ENV_PREVIEW_PR="17",
        ARGOCD_ENV_PREVIEW_HEAD_SHA="89abcde",
        ARGOCD_ENV_PREVIEW_TTL="48h",
    )
    result = generate(app, env)
    assert result.returncode == 0, result.stderr
    documents = list(yaml.safe_load_all(result.stdout))
    assert documents[0]["kind"] == "Namespace"
    assert documents[0]["metadata"]["name"] == "preview-storefront-pr-17"
    preview = next(d for d in documents if d["kind"] == "PreviewEnvironment")
    assert preview["spec"]["headSha"] == "89abcde"
    assert preview["spec"]["imageRef"].endswith(":storefront-89abcde")


def test_the_sidecars_preview_image_repository_holds_preview_images(gitops: Path) -> None:
    app = gitops / "staging" / "storefront"
    previews = "123456789012.dkr.ecr.ca-central-1.amazonaws.com/plattr-previews"
    env = argocd_env(
        app,
        PREVIEW_IMAGE_REPOSITORY=previews,
        ARGOCD_ENV_PREVIEW_PR="17",
        ARGOCD_ENV_PREVIEW_HEAD_SHA="89abcde",
    )
    result = generate(app, env)
    assert result.returncode == 0, result.stderr
    documents = list(yaml.safe_load_all(result.stdout))
    preview = next(d for d in documents if d["kind"] == "PreviewEnvironment")
    (deployment,) = [d for d in documents if d["kind"] == "Deployment"]
    images = {c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]}
    assert preview["spec"]["imageRef"] == f"{previews}:storefront-89abcde"
    assert preview["spec"]["imageRef"] in images


def assert_clear_failure(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    sent = captured(NO_PARAMETERS)
    assert result.stderr.startswith("plattr-cmp: cannot render Argo CD app '")
    assert f"(project {sent['ARGOCD_APP_PROJECT_NAME']}) from " in result.stderr
    assert f"{sent['ARGOCD_APP_SOURCE_REPO_URL']} apps/" in result.stderr
    revision = f"{sent['ARGOCD_APP_REVISION_SHORT']} ({sent['ARGOCD_APP_SOURCE_TARGET_REVISION']})"
    assert f"at {revision}:" in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_an_invalid_spec_fails_with_file_line_and_field(gitops: Path) -> None:
    app = gitops / "uat" / "docs-site"
    spec = app / "application.yaml"
    spec.write_text(spec.read_text().replace("framework: static", "framework: rails"))
    assert_clear_failure(
        generate(app, argocd_env(app)),
        "application.yaml:7: spec.framework: must be one of",
        "'rails'",
    )


def test_an_empty_directory_never_yields_an_empty_stream(tmp_path: Path) -> None:
    app = tmp_path / "repo" / "apps" / "uat" / "nothing"
    app.mkdir(parents=True)
    (app / "README.yaml").write_text("note: not a spec\n")
    assert_clear_failure(generate(app, argocd_env(app)), "no Application found")


def test_a_symlinked_spec_is_refused_and_its_target_never_echoed(
    gitops: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.yaml"
    outside.write_text(
        "apiVersion: platform.internal/v1alpha1\nkind: Application\n"
        "metadata: {name: x}\nspec: {framework: TOPSECRET}\n"
    )
    app = gitops / "uat" / "worker"
    (app / "application.yaml").unlink()
    (app / "application.yaml").symlink_to(outside)
    result = generate(app, argocd_env(app))
    assert_clear_failure(result, "is a symlink")
    assert "TOPSECRET" not in result.stderr


def test_missing_base_domain_is_named(gitops: Path) -> None:
    app = gitops / "uat" / "worker"
    env = argocd_env(app)
    del env["BASE_DOMAIN"]
    assert_clear_failure(generate(app, env), "BASE_DOMAIN")


def test_wrong_environment_for_its_directory(gitops: Path) -> None:
    moved = gitops / "production" / "worker"
    shutil.copytree(gitops / "uat" / "worker", moved)
    assert_clear_failure(generate(moved, argocd_env(moved)), "says environment 'uat'")


def test_a_cluster_without_the_crds_is_named(gitops: Path) -> None:
    app = gitops / "uat" / "worker"
    env = argocd_env(app, KUBE_API_VERSIONS="v1,apps/v1,networking.k8s.io/v1")
    assert_clear_failure(
        generate(app, env), "platform.internal/v1alpha1", "install the Plattr CRDs"
    )


def test_unparseable_yaml_and_usage_errors(gitops: Path) -> None:
    app = gitops / "uat" / "worker"
    (app / "application.yaml").write_text("spec: [unclosed\n")
    assert_clear_failure(generate(app, argocd_env(app)), "application.yaml:2", "not valid YAML")
    usage = subprocess.run(
        [*PLUGIN[:-1], "render"], capture_output=True, text=True, check=False, cwd=app
    )
    assert usage.returncode == 2
    assert "usage: plattr-cmp generate" in usage.stderr


def test_sigterm_ends_cleanly(gitops: Path) -> None:
    app = gitops / "staging" / "reports"
    slow = app / "bin"
    slow.mkdir()
    (slow / "kustomize").write_text("#!/bin/sh\nexec sleep 30\n")
    (slow / "kustomize").chmod(0o755)
    env = argocd_env(app, PATH=f"{slow}:{os.environ['PATH']}")
    process = subprocess.Popen(
        PLUGIN, cwd=app, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not _has_child(process.pid):
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 143
    assert stdout == ""
    assert "terminated (SIGTERM)" in stderr
    assert "Traceback" not in stderr


def _has_child(pid: int) -> bool:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return children.exists() and children.read_text().strip() != ""


@pytest.mark.parametrize("scenario", sorted(path.stem for path in CAPTURES.glob("*.json")), ids=str)
def test_renders_with_every_environment_real_argo_cd_was_seen_to_send(
    gitops: Path, scenario: str
) -> None:
    """Parameters `null`, absent, or a list with arrays, maps and empty strings; plugin env;
    `KUBE_API_VERSIONS` with kinds: every captured shape renders the app."""
    app = gitops / "staging" / "storefront"
    env = plugin_env(
        app,
        app_name="staging-storefront",
        source_path="apps/staging/storefront",
        destination_namespace="staging",
        scenario=scenario,
    )
    result = generate(app, env)
    assert result.returncode == 0, result.stderr
    kinds = [document["kind"] for document in yaml.safe_load_all(result.stdout)]
    assert "Deployment" in kinds
    assert "Application" in kinds


def test_a_cross_tenant_reference_and_a_host_network_patch_are_refused_at_once(
    gitops: Path,
) -> None:
    """Argo CD gets a non-zero exit and every violation: nothing is applied."""
    app = gitops / "production" / "sneaky"
    app.mkdir()
    spec = (gitops / "production" / "storefront" / "application.yaml").read_text()
    spec = spec.replace("name: storefront", "name: sneaky", 1).replace(
        "  database:\n",
        "  env:\n    - {name: STOLEN, secretKeyRef: {name: storefront-db, key: DATABASE_URL}}\n"
        "  database:\n",
        1,
    )
    (app / "application.yaml").write_text(spec)
    (app / "kustomization.yaml").write_text(
        "patches:\n  - target: {kind: Deployment, name: sneaky}\n    patch: |-\n"
        "      - {op: add, path: /spec/template/spec/hostNetwork, value: true}\n"
    )
    result = generate(app, argocd_env(app))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "secretKeyRef.name: 'storefront-db' is not a Secret of app sneaky" in result.stderr
    assert "[secret-ownership]" in result.stderr
    assert "spec.template.spec.hostNetwork: true" in result.stderr
    assert "[host-namespaces]" in result.stderr
