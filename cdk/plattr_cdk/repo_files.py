"""Files of this repository the app reads at synth time: our chart and the Argo CD sidecar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from plattr.environments import Environments, parse

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "plattr"
# The plugin sidecar as values for the argo-cd chart, kept beside its kustomize twin.
ARGOCD_VALUES = REPO_ROOT / "argocd" / "repo-server" / "argo-cd-values.yaml"
# The environment namespaces' labels, shared with the local stack and the chart.
PLATFORM_NAMESPACES = CHART_DIR / "files" / "platform-namespaces.yaml"
SIDECAR = "plattr-cmp"


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


def namespace_labels(name: str, path: Path = PLATFORM_NAMESPACES) -> dict[str, str]:
    """The labels of environment `name`'s namespace: its environment and Pod Security's."""
    shared: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {shared["environmentLabel"]: name, **shared["podSecurity"]}


def environments_declaration(named: str | None) -> tuple[Environments, list[Any]]:
    """The declaration in the file `named` (`-c environmentsFile=`), else in the chart's
    values: checked, and as the list the chart's `environments` value takes."""
    path = Path(named) if named else CHART_DIR / "values.yaml"
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    declared: list[Any] = list(document.get("environments") or [])
    return parse(document, str(path)), declared


def argocd_values(image: str, env: dict[str, str], path: Path = ARGOCD_VALUES) -> dict[str, Any]:
    """The repo-server sidecar values with this platform's plugin image and environment (the
    file's other variables, such as where the environments declaration is mounted, stay)."""
    values: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    containers = values["repoServer"]["extraContainers"]
    sidecars = [c for c in containers if c.get("name") == SIDECAR]
    if len(sidecars) != 1:
        raise ValueError(f"{path}: expected one repoServer.extraContainers entry named {SIDECAR}")
    (sidecar,) = sidecars
    sidecar["image"] = image
    kept = [item for item in sidecar.get("env", []) if item["name"] not in env]
    sidecar["env"] = kept + [{"name": name, "value": value} for name, value in env.items()]
    return values
