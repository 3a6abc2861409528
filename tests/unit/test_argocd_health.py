"""Argo CD's health of Plattr's kinds, assessed by Argo CD itself: `argocd admin settings
resource-overrides health` runs the Lua of argocd/repo-server/argocd-cm.yaml the way the
application-controller does, on objects as the controller writes their status."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.tools import binary

ROOT = Path(__file__).resolve().parents[2]
ARGOCD_CM = ROOT / "argocd" / "repo-server" / "argocd-cm.yaml"


def resource(kind: str, status: dict[str, Any] | None, generation: int = 2) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "platform.internal/v1alpha1",
        "kind": kind,
        "metadata": {"name": "shop", "namespace": "staging", "generation": generation},
        "spec": {},
    }
    if status is not None:
        obj["status"] = status
    return obj


def health(obj: dict[str, Any], tmp_path: Path) -> str:
    path = tmp_path / "obj.yaml"
    path.write_text(yaml.safe_dump(obj))
    done = subprocess.run(
        [
            str(binary("argocd")),
            "admin",
            "settings",
            "resource-overrides",
            "health",
            str(path),
            "--argocd-cm-path",
            str(ARGOCD_CM),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


FAILED = {
    "phase": "Failed",
    "observedGeneration": 2,
    "conditions": [
        {"type": "DatabaseReady", "status": "True", "reason": "Provisioned"},
        {
            "type": "StorageReady",
            "status": "False",
            "reason": "StorageUnreachable",
            "message": "cannot reach S3",
        },
    ],
}


@pytest.mark.needs_tools
@pytest.mark.parametrize("kind", ["Application", "PreviewEnvironment"])
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, ["STATUS: Progressing", "MESSAGE: waiting for the Plattr controller"]),
        (
            {"phase": "Running", "observedGeneration": 1},
            ["STATUS: Progressing", "act on generation 2"],
        ),
        ({"phase": "Provisioning", "observedGeneration": 2}, ["STATUS: Progressing"]),
        ({"phase": "Running", "observedGeneration": 2}, ["STATUS: Healthy", "MESSAGE: Running"]),
        (
            FAILED,
            [
                "STATUS: Degraded",
                "MESSAGE: Failed: StorageReady StorageUnreachable (cannot reach S3)",
            ],
        ),
    ],
)
def test_argocd_sees_the_phase_and_why(
    kind: str, status: dict[str, Any] | None, expected: list[str], tmp_path: Path
) -> None:
    out = health(resource(kind, status), tmp_path)
    for fragment in expected:
        assert fragment in out, out
