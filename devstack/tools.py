"""Where the binaries built by `make tools` (tools/build.sh) live.

The cache is ${PLATTR_CACHE:-~/.cache/plattr}/<tool>-<version>/, versions from
tools/versions.env. An already-set KUBEBUILDER_ASSETS (the envtest convention) is searched
first, for every Kubernetes binary it holds.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from devstack.errors import StackError

# tools/ of the repository: build.sh, versions.env and the Go modules it builds
TOOLS_DIR = Path(__file__).resolve().parent.parent / "tools"
BUILD_HINT = "run `make tools` (tools/build.sh) to build it"

# binary name -> (cache directory prefix, key of its version in versions.env)
_GO_BINARIES = {
    "kube-apiserver": ("kubernetes", "KUBERNETES_VERSION"),
    "kube-controller-manager": ("kubernetes", "KUBERNETES_VERSION"),
    "kube-scheduler": ("kubernetes", "KUBERNETES_VERSION"),
    "etcd": ("etcd", "ETCD_VERSION"),
    "kwok": ("kwok", "KWOK_VERSION"),
    "kube-score": ("kube-score", "KUBE_SCORE_VERSION"),
    "kustomize": ("kustomize", "KUSTOMIZE_VERSION"),
    "helm": ("helm", "HELM_VERSION"),
    # Argo CD: one multi-call binary, hard-linked under each component's name
    **dict.fromkeys(
        (
            "argocd",
            "argocd-server",
            "argocd-repo-server",
            "argocd-cmp-server",
            "argocd-application-controller",
            "argocd-applicationset-controller",
        ),
        ("argocd", "ARGOCD_VERSION"),
    ),
}


@cache
def versions() -> dict[str, str]:
    """The pins of tools/versions.env."""
    pairs = (
        line.split("=", 1)
        for line in (TOOLS_DIR / "versions.env").read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


def cache_dir() -> Path:
    if configured := os.environ.get("PLATTR_CACHE"):
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "plattr"


def binary(name: str) -> Path:
    """The path of a Go tool: from KUBEBUILDER_ASSETS if it holds it, else from the cache."""
    prefix, key = _GO_BINARIES[name]
    candidates = []
    if assets := os.environ.get("KUBEBUILDER_ASSETS"):
        candidates.append(Path(assets) / name)
    candidates.append(cache_dir() / f"{prefix}-{versions()[key]}" / name)
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    raise StackError(f"{name} not found in {', '.join(map(str, candidates))}: {BUILD_HINT}")


def argocd_crds() -> list[Path]:
    """Argo CD's CustomResourceDefinitions, copied from its release by tools/build.sh."""
    crds = sorted((binary("argocd").parent / "crds").glob("*-crd.yaml"))
    if not crds:
        raise StackError(f"Argo CD's CRDs not found beside {binary('argocd')}: {BUILD_HINT}")
    return crds


def keycloak_home() -> Path:
    home = cache_dir() / f"keycloak-{versions()['KEYCLOAK_VERSION']}"
    if not (home / "bin" / "kc.sh").is_file():
        raise StackError(f"Keycloak not found in {home}: {BUILD_HINT}")
    return home


def java_home() -> Path:
    """JAVA_HOME if set, else the newest Temurin JDK under /usr/lib/jvm (what Keycloak runs on)."""
    if configured := os.environ.get("JAVA_HOME"):
        return Path(configured)
    temurins = sorted(
        Path("/usr/lib/jvm").glob("temurin-*-jdk*"),
        key=lambda p: int(p.name.split("-")[1]) if p.name.split("-")[1].isdigit() else 0,
    )
    if not temurins:
        raise StackError("no JDK found: set JAVA_HOME or run tools/install-system-deps.sh")
    return temurins[-1]
