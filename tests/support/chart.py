"""charts/plattr rendered by the real helm (built by `make tools`), for the chart's own tests
and the ones that install or check what it renders."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from devstack.tools import binary

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "plattr"
RELEASE, NAMESPACE = "plattr-operator", "plattr-system"
# The values' shape PlattrOperatorStack passes (cdk/plattr_cdk/operator_stack.py), with
# sample values where it passes CloudFormation tokens.
CDK_VALUES: dict[str, Any] = {
    "image": {"repository": "123456789012.dkr.ecr.ca-central-1.amazonaws.com/x", "tag": "1.2"},
    "serviceAccount": {
        "create": True,
        "name": "plattr-operator",
        "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/x"},
    },
    "env": {
        "DB_SECRET_ARN": "arn:aws:secretsmanager:ca-central-1:123456789012:secret:plattr",
        "DB_HOST": "aurora.example.test",
        "AWS_REGION": "ca-central-1",
        "BASE_DOMAIN": "apps.example.com",
        "LEADER_ELECTION": "true",
        "LEASE_NAMESPACE": "plattr-system",
        "AWS_ACCOUNT_ID": "123456789012",
        "BUCKET_PREFIX": "plattr",
        "KEYCLOAK_URL": "https://keycloak.apps.example.com",
        "KEYCLOAK_ADMIN_USER": "plattr-admin",
    },
    "keycloakAdminSecret": "keycloak-admin",
}


def helm(*args: str, values: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    """The real helm on the chart, with `values` as a values file on stdin."""
    return subprocess.run(
        [str(binary("helm")), *args, "-f", "-"],
        input=yaml.safe_dump(values or {}),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def render_chart(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """`helm template` of the chart as release plattr-operator in plattr-system."""
    result = helm("template", RELEASE, str(CHART), "-n", NAMESPACE, values=values)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


ARGOCD_KINDS = ("AppProject", "ApplicationSet")


def argocd_objects(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The AppProject and ApplicationSets the chart renders with `argocd.enabled` and `values`
    (the environments declaration among them)."""
    argocd = {"argocd": {"enabled": True, **(values or {}).get("argocd", {})}}
    rendered = render_chart({**(values or {}), **argocd})
    return [m for m in rendered if m["kind"] in ARGOCD_KINDS]


def plain_env(manifests: Iterable[dict[str, Any]]) -> dict[str, str]:
    """The plain values (not those from a Secret) of the controller's container in a render."""
    (deployment,) = (m for m in manifests if m["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}
