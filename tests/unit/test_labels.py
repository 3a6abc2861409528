"""The label contract, from both sides: what the renderer writes is what the controller's
selectors and guards (`plattr.labels`) look for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from controller.kinds import DEPLOYMENT
from plattr.labels import PREVIEW_LABEL, PREVIEW_VALUE, is_preview_namespace
from renderer.options import PreviewParams, RenderOptions
from renderer.pipeline import render_paths

TEMPLATE_APP = Path(__file__).resolve().parents[2] / "gitops-repo-template/apps/staging/storefront"
OPTIONS = RenderOptions(base_domain="apps.example.com", aws_account_id="123456789012")
PREVIEW = msgspec.structs.replace(OPTIONS, preview=PreviewParams(7, head_sha="89abcde"))

Manifest = dict[str, Any]


def selects(selector: str, labels: dict[str, str]) -> bool:
    """Whether an equality-based label selector (`k=v,k2=v2`) selects these labels."""
    requirements = [term.split("=", 1) for term in selector.split(",")]
    assert all(len(pair) == 2 and "!" not in pair[0] for pair in requirements), selector
    return all(labels.get(key) == value for key, value in requirements)


def by_kind(options: RenderOptions) -> dict[str, Manifest]:
    return {m["kind"]: m for m in render_paths([TEMPLATE_APP], options, recursive=False)}


def test_the_controllers_deployment_watch_selects_the_rendered_deployment() -> None:
    assert DEPLOYMENT.label_selector is not None
    for options in (OPTIONS, PREVIEW):
        deployment = by_kind(options)["Deployment"]
        assert selects(DEPLOYMENT.label_selector, deployment["metadata"]["labels"])


def test_the_rendered_preview_namespace_is_one_the_controller_may_delete() -> None:
    namespace = by_kind(PREVIEW)["Namespace"]["metadata"]
    assert namespace["labels"][PREVIEW_LABEL] == PREVIEW_VALUE
    assert is_preview_namespace(namespace["name"], namespace["labels"])


def test_an_environment_namespace_is_never_taken_for_a_preview() -> None:
    application = by_kind(OPTIONS)["Application"]["metadata"]
    assert application["namespace"] == "staging"
    assert not is_preview_namespace(application["namespace"], application["labels"])
    preview_labels = by_kind(PREVIEW)["Namespace"]["metadata"]["labels"]
    assert not is_preview_namespace(application["namespace"], preview_labels)
