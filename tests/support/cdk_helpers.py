"""Synthesizing the app for tests and reading its templates: Helm releases, manifests, IAM."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

CDK_DIR = Path(__file__).resolve().parents[2] / "cdk"
sys.path.insert(0, str(CDK_DIR))
# jsii warns on every start when Node.js is past its support window: noise in test output.
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


def template(stacks: dict[str, Stack], name: str) -> Template:
    return Template.from_stack(stacks[name])


TOKEN = "<token>"


def flatten(value: Any) -> str:
    """A string property, with every CloudFormation token inside an Fn::Join shown as TOKEN."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(part if isinstance(part, str) else TOKEN for part in parts)
    return TOKEN


def resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = template.find_resources(kind)
    return found


def helm_releases(template: Template) -> dict[str, dict[str, Any]]:
    """Release name -> properties, with Values parsed from JSON."""
    releases = {}
    for resource in resources(template, "Custom::AWSCDK-EKS-HelmChart").values():
        props = dict(resource["Properties"])
        props["Values"] = json.loads(flatten(props.get("Values", "{}")))
        releases[props["Release"]] = props
    return releases


def manifests(template: Template) -> list[dict[str, Any]]:
    """Every Kubernetes object the stack applies, parsed."""
    objects: list[dict[str, Any]] = []
    for resource in resources(template, "Custom::AWSCDK-EKS-KubernetesResource").values():
        objects.extend(json.loads(flatten(resource["Properties"]["Manifest"])))
    return objects


def objects_of_kind(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in manifests(template) if o["kind"] == kind}


def policy_statements(template: Template, logical_id_prefix: str) -> list[dict[str, Any]]:
    """The statements of the inline policies attached to roles whose id starts with the prefix."""
    statements: list[dict[str, Any]] = []
    for resource in resources(template, "AWS::IAM::Policy").values():
        roles = resource["Properties"]["Roles"]
        if any(r.get("Ref", "").startswith(logical_id_prefix) for r in roles):
            statements.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
