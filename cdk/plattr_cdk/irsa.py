"""IAM roles for Kubernetes ServiceAccounts (IRSA), trusted for one ServiceAccount only."""

from __future__ import annotations

from aws_cdk import CfnJson
from aws_cdk import aws_eks as eks
from aws_cdk import aws_iam as iam
from constructs import Construct


def service_account_role(
    scope: Construct,
    construct_id: str,
    cluster: eks.ICluster,
    namespace: str,
    service_account: str,
) -> iam.Role:
    """A role only `system:serviceaccount:<namespace>:<service_account>` can assume.

    The issuer is a token in both modes (an attribute of the provider, or derived from its
    ARN), so the condition keys go through CfnJson, as aws-eks' own ServiceAccount does.
    """
    provider = cluster.open_id_connect_provider
    issuer = provider.open_id_connect_provider_issuer
    conditions = CfnJson(
        scope,
        f"{construct_id}TrustConditions",
        value={
            f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
            f"{issuer}:aud": "sts.amazonaws.com",
        },
    )
    return iam.Role(
        scope,
        construct_id,
        description=f"IRSA role of ServiceAccount {namespace}/{service_account}",
        assumed_by=iam.OpenIdConnectPrincipal(provider).with_conditions(
            {"StringEquals": conditions}
        ),
    )
