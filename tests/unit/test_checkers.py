"""The golden renders judged by kube-score (built by `make tools`), a checker platform teams
run on their workloads: every finding is fixed, or allowed below for a stated reason and only
where it applies (docs/workloads.md explains each choice)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Final, NamedTuple

import pytest

from devstack.tools import binary
from tests.support.golden import GOLDEN

GOLDENS: Final = sorted(GOLDEN.glob("*/*.yaml"))
KUBERNETES_VERSION: Final = "v1.31"
"""The minor the CDK app deploys."""
PASSED: Final = 10
"""kube-score's grade of a check without findings."""


class Finding(NamedTuple):
    check: str
    summary: str
    workload: str
    """`namespace/name` of the object judged."""


class Allowed(NamedTuple):
    reason: str
    where: frozenset[str] = frozenset()
    """The `namespace/name`s it is allowed for; empty: every object."""


SINGLE_REPLICA: Final = frozenset({"staging/reports", "uat/docs-site", "uat/worker"})
"""Template apps without `scaling` outside production: the environment's `minReplicas` is 1."""
MULTI_REPLICA: Final = frozenset({"production/orders-api", "production/storefront"})

ALLOWED: Final[dict[tuple[str, str], Allowed]] = {
    ("container-resources", "CPU limit is not set"): Allowed(
        "CPU limits throttle a container even on an idle node; requests reserve the CPU, and "
        "the environment's quota decides what a namespace may use"
    ),
    ("container-ephemeral-storage-request-and-limit", "Ephemeral Storage request is not set"): (
        Allowed(
            "the app's scratch space is the /tmp emptyDir, capped by its sizeLimit (256Mi); "
            "the kubelet evicts a pod that exceeds it"
        )
    ),
    ("container-ephemeral-storage-request-and-limit", "Ephemeral Storage limit is not set"): (
        Allowed("as for the request: /tmp is an emptyDir with a sizeLimit")
    ),
    ("container-image-pull-policy", "ImagePullPolicy is not set to Always"): Allowed(
        "images are referenced by a tag per commit or by digest, so IfNotPresent (the default "
        "for them) runs the same image without a registry round trip per start; nodes pull "
        "with their own role, there are no imagePullSecrets to revalidate"
    ),
    ("container-security-context-user-group-id", "The container is running with a low user ID"): (
        Allowed(
            "the uid each framework's base image owns its files as (plattr/frameworks.py); "
            "runAsNonRoot and the restricted Pod Security Standard hold regardless"
        )
    ),
    ("container-security-context-user-group-id", "The container running with a low group ID"): (
        Allowed("the gid matches the uid, for the same reason")
    ),
    (
        "container-security-context-readonlyrootfilesystem",
        "The pod has a container with a writable root filesystem",
    ): Allowed(
        "frameworks whose runtime writes next to its code (Next.js cache, nginx temp files, "
        "an unknown custom image): read_only_root_fs in plattr/frameworks.py",
        frozenset({"production/storefront", "staging/storefront", "uat/docs-site", "uat/worker"}),
    ),
    ("pod-networkpolicy", "The pod does not have a matching egress NetworkPolicy"): Allowed(
        "egress stays open: apps reach their database, S3, Keycloak and the identity providers, "
        "whose addresses the renderer does not know"
    ),
    (
        "deployment-has-host-podantiaffinity",
        "Deployment does not have a host podAntiAffinity set",
    ): (
        Allowed(
            "topologySpreadConstraints over zone and hostname (maxSkew 1) spread the replicas; "
            "kube-score 1.20 looks only for podAntiAffinity",
            MULTI_REPLICA | {"staging/storefront"},
        )
    ),
    ("deployment-replicas", "Deployment few replicas"): Allowed(
        "one replica where the environment's minReplicas is 1 and the spec sets no scaling",
        SINGLE_REPLICA,
    ),
    ("horizontalpodautoscaler-replicas", "HPA few replicas"): Allowed(
        "the spec's own scaling.min: 1 in staging", frozenset({"staging/storefront"})
    ),
    ("deployment-has-poddisruptionbudget", "No matching PodDisruptionBudget was found"): Allowed(
        "a PDB only where at least two replicas always run (scaling.min 1 here); with one, "
        "it would protect nothing",
        frozenset({"staging/storefront"}),
    ),
    ("pod-probes-identical", "Container has the same readiness and liveness probe"): Allowed(
        "a custom image with a TCP readiness: the port is the only signal there is; liveness "
        "waits 20 s x 6 against readiness's 10 s x 3, so a busy pod leaves the endpoints first",
        frozenset({"uat/worker"}),
    ),
}


def kube_score(path: Path) -> list[Finding]:
    """Every finding of kube-score (JSON output, v2) on the manifests in `path`."""
    result = subprocess.run(
        [
            str(binary("kube-score")),
            "score",
            "--kubernetes-version",
            KUBERNETES_VERSION,
            "--output-format",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.stderr == "", result.stderr
    scored: list[dict[str, Any]] = json.loads(result.stdout)
    return [
        Finding(
            check["check"]["id"],
            comment["summary"],
            f"{scored_object['object_meta']['namespace']}/{scored_object['object_meta']['name']}",
        )
        for scored_object in scored
        for check in scored_object["checks"]
        if not check["skipped"] and check["grade"] < PASSED
        for comment in check["comments"]
    ]


def is_allowed(finding: Finding) -> bool:
    allowed = ALLOWED.get((finding.check, finding.summary))
    return allowed is not None and (not allowed.where or finding.workload in allowed.where)


@pytest.fixture(scope="module")
def findings() -> dict[Path, list[Finding]]:
    return {path: kube_score(path) for path in GOLDENS}


@pytest.mark.needs_tools
@pytest.mark.parametrize("golden", GOLDENS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_kube_score_finds_nothing_unexplained(
    golden: Path, findings: dict[Path, list[Finding]]
) -> None:
    unexplained = sorted({f for f in findings[golden] if not is_allowed(f)})
    assert unexplained == [], "\n".join(
        f"{f.workload}: {f.check}: {f.summary}" for f in unexplained
    )


@pytest.mark.needs_tools
def test_every_allowance_is_still_needed(findings: dict[Path, list[Finding]]) -> None:
    seen = {f for found in findings.values() for f in found}
    unused = [key for key in ALLOWED if not any((f.check, f.summary) == key for f in seen)]
    assert unused == [], f"no golden render needs these allowances any more: {unused}"
    for key, allowed in ALLOWED.items():
        needed = {f.workload for f in seen if (f.check, f.summary) == key}
        assert allowed.where <= needed, f"{key}: allowed for {sorted(allowed.where - needed)}"
