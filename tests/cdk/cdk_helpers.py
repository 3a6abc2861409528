"""Reading synthesized templates: Helm releases, Kubernetes manifests, IAM statements."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template

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
