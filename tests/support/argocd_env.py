"""The environment Argo CD's repo-server gives the plugin, taken from real Argo CD.

`tests/fixtures/argocd-cmp/` holds what a real argocd-cmp-server passed to a plugin (see its
README). Tests that run `plattr-cmp` as Argo CD does build its environment from one of those
captures and replace only what depends on the app (name, source path, destination namespace):
never from what documentation says Argo CD sends.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Final

CAPTURES: Final = Path(__file__).resolve().parents[1] / "fixtures" / "argocd-cmp"
NO_PARAMETERS: Final = "a-plugin-name-only"
"""An Application whose plugin has a name and nothing else: every environment ApplicationSet's."""
SIDECAR: Final = {"BASE_DOMAIN": "apps.example.com", "AWS_ACCOUNT_ID": "123456789012"}
"""The plugin sidecar's own settings, as the platform sets them (argocd/repo-server)."""


@cache
def captured(scenario: str) -> dict[str, str]:
    """The variables real Argo CD sent in `scenario` (a file name under CAPTURES, no suffix)."""
    env: dict[str, str] = json.loads((CAPTURES / f"{scenario}.json").read_text())["env"]
    return env


def plugin_env(
    app_dir: Path,
    *,
    app_name: str,
    source_path: str,
    destination_namespace: str,
    scenario: str = NO_PARAMETERS,
    **extra: str,
) -> dict[str, str]:
    """What `plattr-cmp generate` sees in `app_dir` for that Argo CD Application: the
    sidecar's environment, then the captured repo-server variables with the app's own."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(app_dir),
        **SIDECAR,
        **captured(scenario),
        "ARGOCD_APP_NAME": app_name,
        "ARGOCD_APP_NAMESPACE": destination_namespace,
        "ARGOCD_APP_SOURCE_PATH": source_path,
        **extra,
    }
