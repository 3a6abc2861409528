"""Small helpers shared by the renderer tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from plattr.models import Application
from plattr.validation import decode
from renderer.options import RenderOptions
from renderer.render import render

# A complete Application (every kind of resource, two identity providers, autoscaling)
EXAMPLE_APP = Path(__file__).parent.parent / "fixtures" / "example-application.yaml"
OPTIONS = RenderOptions(base_domain="example.dev", aws_account_id="123456789012")
TENANT_POD = "spec.template.spec"
TENANT_APP_CONTAINER = f"{TENANT_POD}.containers[app]"


def tenant_spec(environment: str, extra: str = "") -> str:
    """App `sneaky` of the tenancy tests, with a database, storage and auth, plus `extra`
    spec lines (indented by two spaces)."""
    return f"""\
apiVersion: platform.internal/v1alpha1
kind: Application
metadata:
  name: sneaky
spec:
  framework: python
  environment: {environment}
  imageRef: registry.example.com/team/sneaky:1.0.0
  database:
    enabled: true
  storage:
    enabled: true
    buckets: [{{name: files}}]
  auth:
    enabled: true
    providers: [google]
{extra}"""


def example_doc() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(EXAMPLE_APP.read_text())
    return document


def app_from(spec_changes: dict[str, Any] | None = None, **top: Any) -> Application:
    document = example_doc()
    document["spec"].update(copy.deepcopy(spec_changes or {}))
    document.update(top)
    return decode(document, Application)


def render_by_kind(
    app: Application, options: RenderOptions = OPTIONS
) -> dict[str, list[dict[str, Any]]]:
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for manifest in render(app, options):
        by_kind.setdefault(manifest["kind"], []).append(manifest)
    return by_kind


def only(by_kind: dict[str, list[dict[str, Any]]], kind: str) -> dict[str, Any]:
    (manifest,) = by_kind[kind]
    return manifest


def container(deployment: dict[str, Any], name: str) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    (found,) = [c for c in containers if c["name"] == name]
    return found  # type: ignore[no-any-return]
