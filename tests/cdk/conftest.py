"""Fixtures for the CDK app: one synthesized app per deployment mode, shared by the tests.

Synthesis costs seconds of CPU, so each context is built once per session (module cache)
and the tests read its templates. Nothing here needs AWS credentials, Docker or a network.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

CDK_DIR = Path(__file__).resolve().parents[2] / "cdk"
sys.path.insert(0, str(CDK_DIR))
# The machine's Node 20 is past jsii's support window; the warning is noise in test output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, Stack  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402
from plattr_cdk.app import build  # noqa: E402

FEATURE_FLAGS: dict[str, Any] = json.loads((CDK_DIR / "cdk.json").read_text())["context"]

BYO_CONTEXT = {
    "eksClusterName": "my-eks-cluster",
    "kubectlRoleArn": "arn:aws:iam::123456789012:role/my-kubectl-role",
    "oidcProviderArn": (
        "arn:aws:iam::123456789012:oidc-provider/"
        "oidc.eks.ca-central-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
    ),
    "auroraEndpoint": "my-aurora.cluster-abc123.ca-central-1.rds.amazonaws.com",
    "auroraSgId": "sg-0123456789abcdef0",
}
COMMON_CONTEXT = {
    "baseDomain": "nonprod.example.dev",
    "hostedZoneId": "Z0123456789ABC",
    "githubOrg": "acme",
}
# Option A with non-default node and capacity settings, so that the context is seen to reach
# the resources (the defaults are covered by the config tests).
INFRA_CONTEXT = {
    "useInfraStack": "true",
    "nodeInstanceType": "m5.xlarge",
    "nodeMinSize": "3",
    "nodeMaxSize": "6",
    "nodeDesiredSize": "4",
    "auroraMinCapacity": "1",
    "auroraMaxCapacity": "8",
}

_CACHE: dict[str, dict[str, Stack]] = {}


def synth(context: dict[str, Any], outdir: Path) -> dict[str, Stack]:
    """Build the app with cdk.json's feature flags plus `context` and synthesize it.

    Synthesis runs cdk-nag: an unacknowledged finding raises here.
    """
    app = App(context={**FEATURE_FLAGS, **context}, outdir=str(outdir))
    stacks = build(app)
    app.synth()
    return stacks


def cached_synth(
    key: str, context: dict[str, Any], factory: pytest.TempPathFactory
) -> dict[str, Stack]:
    if key not in _CACHE:
        _CACHE[key] = synth(context, factory.mktemp(key))
    return _CACHE[key]


@pytest.fixture(scope="session")
def infra_mode(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Stack]:
    return cached_synth("infra", {**COMMON_CONTEXT, **INFRA_CONTEXT}, tmp_path_factory)


@pytest.fixture(scope="session")
def byo_mode(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Stack]:
    return cached_synth("byo", {**COMMON_CONTEXT, **BYO_CONTEXT}, tmp_path_factory)


@pytest.fixture(scope="session", params=["infra", "byo"])
def mode(request: pytest.FixtureRequest) -> tuple[str, dict[str, Stack]]:
    return request.param, request.getfixturevalue(f"{request.param}_mode")


def template(stacks: dict[str, Stack], name: str) -> Template:
    return Template.from_stack(stacks[name])
