"""The environment namespaces' labels are defined once, in
charts/plattr/files/platform-namespaces.yaml: the local stack and the CDK app read the file
(tests/cdk/test_cdk_operator_stack.py compares the two), the renderer's preview namespaces and
the core's environments must agree with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from devstack.controlplane import environment_objects
from plattr.environments import shipped
from plattr.labels import ENVIRONMENT_LABEL
from renderer.options import PreviewParams, RenderOptions
from renderer.pipeline import render_paths
from renderer.resources import POD_SECURITY_LABELS

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "charts/plattr/files/platform-namespaces.yaml"
TEMPLATE_APP = ROOT / "gitops-repo-template/apps/staging/storefront"


def shared() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SHARED.read_text())
    return document


def test_the_file_names_the_cores_label_and_no_environment() -> None:
    """The environments are the declaration's; the file only says how their namespaces are
    labelled."""
    assert shared()["environmentLabel"] == ENVIRONMENT_LABEL
    assert "environments" not in shared()


def test_pod_security_is_restricted_everywhere_and_previews_match() -> None:
    labels = shared()["podSecurity"]
    assert labels == POD_SECURITY_LABELS
    assert {key.rsplit("/", 1)[1] for key in labels} == {"enforce", "audit", "warn"}
    assert set(labels.values()) == {"restricted"}


def test_the_local_stack_labels_each_environment_namespace() -> None:
    for environment in shipped():
        namespace, *_ = environment_objects(environment)
        assert namespace["metadata"] == {
            "name": environment.namespace_name,
            "labels": {ENVIRONMENT_LABEL: environment.name, **POD_SECURITY_LABELS},
        }


def test_a_preview_namespace_carries_the_same_labels() -> None:
    """So the tenancy admission policy selects it, and Pod Security holds it to `restricted`."""
    options = RenderOptions(
        base_domain="apps.example.com",
        aws_account_id="123456789012",
        preview=PreviewParams(7, head_sha="89abcde"),
    )
    rendered = render_paths([TEMPLATE_APP], options, recursive=False)
    (namespace,) = (m for m in rendered if m["kind"] == "Namespace")
    assert (
        namespace["metadata"]["labels"].items()
        >= {
            ENVIRONMENT_LABEL: "pr-7",
            **shared()["podSecurity"],
        }.items()
    )
