"""The template's example apps, rendered and checked in: any difference fails."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.golden import ROOT, app_dirs, golden_path, render_app_dir
from tests.support.schema_check import check_manifest

APP_DIRS = app_dirs()


def test_the_template_has_apps_in_every_environment() -> None:
    assert {path.parent.name for path in APP_DIRS} == {"production", "staging", "uat"}


@pytest.mark.parametrize("app_dir", APP_DIRS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_render_is_unchanged(app_dir: Path) -> None:
    expected = golden_path(app_dir).read_text()
    assert render_app_dir(app_dir) == expected, (
        f"{golden_path(app_dir).relative_to(ROOT)} differs: review, then `make golden`"
    )


@pytest.mark.parametrize("app_dir", APP_DIRS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_render_is_valid_kubernetes(app_dir: Path) -> None:
    for manifest in yaml.safe_load_all(golden_path(app_dir).read_text()):
        check_manifest(manifest)


def test_the_kustomized_example_carries_its_patches() -> None:
    text = (ROOT / "tests/golden/staging/reports.yaml").read_text()
    deployment = next(d for d in yaml.safe_load_all(text) if d["kind"] == "Deployment")
    app = deployment["spec"]["template"]["spec"]["containers"][0]
    assert app["resources"]["limits"]["memory"] == "1Gi"
    assert {"name": "REPORTS_QUEUE", "value": "staging-reports"} in app["env"]
