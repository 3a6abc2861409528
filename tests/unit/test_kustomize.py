"""Kustomize post-processing: patches apply; anything reaching outside the app is refused."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest

from renderer.errors import KustomizeError, SpecErrors
from renderer.kustomize import kustomize_command
from renderer.options import PreviewParams
from renderer.pipeline import render_paths
from tests.support.render_helpers import EXAMPLE_APP, OPTIONS


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "my-frontend"
    directory.mkdir()
    (directory / "application.yaml").write_text(EXAMPLE_APP.read_text())
    return directory


def write_kustomization(directory: Path, body: str) -> None:
    (directory / "kustomization.yaml").write_text(body)


def test_without_a_kustomization_the_render_is_untouched(app_dir: Path) -> None:
    kinds = [m["kind"] for m in render_paths([app_dir], OPTIONS, recursive=False)]
    assert kinds[-1] == "Application"


def test_strategic_merge_and_json6902_patches_apply(app_dir: Path) -> None:
    (app_dir / "replicas.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\n"
        "metadata: {name: my-frontend, namespace: production}\n"
        "spec:\n  template:\n    metadata:\n      annotations: {patched: 'yes'}\n"
    )
    write_kustomization(
        app_dir,
        "patches:\n- path: replicas.yaml\n- target: {kind: Service, name: my-frontend}\n"
        "  patch: |-\n    - op: replace\n      path: /spec/type\n      value: NodePort\n",
    )
    manifests = render_paths([app_dir], OPTIONS, recursive=False)
    by_kind = {m["kind"]: m for m in manifests}
    assert by_kind["Deployment"]["spec"]["template"]["metadata"]["annotations"] == {
        "patched": "yes"
    }
    assert by_kind["Service"]["spec"]["type"] == "NodePort"


def test_the_user_may_add_their_own_resources(app_dir: Path) -> None:
    (app_dir / "extra.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: production}\n"
    )
    write_kustomization(app_dir, "resources: [extra.yaml]\n")
    names = {m["metadata"]["name"] for m in render_paths([app_dir], OPTIONS, recursive=False)}
    assert "extra" in names


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("resources: [../../etc]\n", "leaves the app directory"),
        ("resources: [/etc/passwd]\n", "remote or absolute"),
        ("resources: [https://github.com/x/y]\n", "remote or absolute"),
        ("resources: ['github.com/x/y?ref=main']\n", "remote or absolute"),
        ("helmCharts: [{name: x}]\n", "Helm is off"),
        ("components: [../shared]\n", "leaves the app directory"),
    ],
)
def test_references_outside_the_app_are_refused(app_dir: Path, body: str, fragment: str) -> None:
    write_kustomization(app_dir, body)
    with pytest.raises(KustomizeError, match=fragment):
        render_paths([app_dir], OPTIONS, recursive=False)


def test_symlinks_are_refused(app_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside.yaml"
    secret.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stolen}\n")
    os.symlink(secret, app_dir / "link.yaml")
    write_kustomization(app_dir, "resources: [link.yaml]\n")
    with pytest.raises((KustomizeError, SpecErrors), match="symlink"):
        render_paths([app_dir], OPTIONS, recursive=False)


def test_kustomizes_own_error_reaches_the_user(app_dir: Path) -> None:
    write_kustomization(app_dir, "patches:\n- path: missing.yaml\n")
    with pytest.raises(KustomizeError, match=r"kustomize failed: (?s:.*)missing\.yaml"):
        render_paths([app_dir], OPTIONS, recursive=False)


def test_exec_plugins_are_never_enabled() -> None:
    command = " ".join(kustomize_command())
    assert "LoadRestrictionsRootOnly" in command
    assert "--enable-alpha-plugins" not in command
    assert "--enable-exec" not in command
    assert "--enable-helm" not in command


def test_a_previews_patches_reach_the_previews_objects() -> None:
    """Patches name the app's objects (`reports` in `staging`); in a preview they are
    `reports-pr-5` in `preview-reports-pr-5`, and the patches still apply."""
    app_dir = Path(__file__).resolve().parents[2] / "gitops-repo-template/apps/staging/reports"
    options = msgspec.structs.replace(OPTIONS, preview=PreviewParams(5, head_sha="abcdef1"))
    manifests = render_paths([app_dir], options, recursive=False)
    (deployment,) = [m for m in manifests if m["kind"] == "Deployment"]
    assert deployment["metadata"]["name"] == "reports-pr-5"
    assert deployment["metadata"]["namespace"] == "preview-reports-pr-5"
    app = deployment["spec"]["template"]["spec"]["containers"][0]
    assert app["resources"]["limits"]["memory"] == "1Gi"
    assert {"name": "REPORTS_QUEUE", "value": "staging-reports"} in app["env"]
    assert {m["metadata"].get("namespace", "preview-reports-pr-5") for m in manifests} == {
        "preview-reports-pr-5"
    }
