"""Our Helm chart, installed from this repository's `charts/plattr/` as a CDK asset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CHART_DIR = Path(__file__).resolve().parents[2] / "charts" / "plattr"


def chart_missing_reason(chart_dir: Path = CHART_DIR) -> str | None:
    """Why the chart cannot be installed from `chart_dir`, or None when it can."""
    if not (chart_dir / "Chart.yaml").is_file():
        return f"{chart_dir}/Chart.yaml is missing: the plattr release would fail at deploy"
    return None


def load_crds(chart_dir: Path = CHART_DIR) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition in `<chart>/crds/*.yaml`, sorted by file name."""
    crds: list[dict[str, Any]] = []
    for path in sorted((chart_dir / "crds").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                crds.append(document)
    return crds
