"""What the operator stack needs from the infrastructure, in either deployment mode."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import custom_resources as cr
from aws_cdk.lambda_layer_kubectl_v31 import KubectlV31Layer
from constructs import Construct

from .config import ImportedInfra
from .nag import LAMBDA_BASIC, acknowledge

ADMIN_SECRET_NAME = "plattr/db-admin"  # noqa: S105 (a name, not a value)
ADMIN_USER = "plattr_admin"
DATABASE_NAME = "plattr"
POSTGRES_PORT = 5432
AWS_CUSTOM_RESOURCE_SINGLETON = "AWS679f53fac002430cb0da5b7982bd2287"
CLUSTER_SG_PATH = "cluster.resourcesVpcConfig.clusterSecurityGroupId"


@dataclass(frozen=True)
class PlatformInfra:
    """The cluster to install into and the database the controller administers.

    `admin_secret` is set when the infra stack created Aurora: that secret *is* the cluster's
    master credential, so the operator stack uses it instead of creating a copy that would
    drift at the first rotation. In bring-your-own mode the operator stack creates it.
    """

    cluster: eks.ICluster
    aurora_endpoint: str
    admin_secret: secretsmanager.ISecret | None


def kubectl_layer(scope: Construct) -> lambda_.ILayerVersion:
    """kubectl + helm for the EKS kubectl handler, matching Kubernetes 1.31 (no Docker needed)."""
    return KubectlV31Layer(scope, "KubectlLayer")


def allow_eks_to_aurora(scope: Construct, aurora_sg_id: str, cluster_sg_id: str) -> None:
    """The one network rule the platform needs: EKS cluster security group -> Aurora, 5432."""
    ec2.CfnSecurityGroupIngress(
        scope,
        "EksToAurora",
        group_id=aurora_sg_id,
        source_security_group_id=cluster_sg_id,
        ip_protocol="tcp",
        from_port=POSTGRES_PORT,
        to_port=POSTGRES_PORT,
        description="EKS cluster security group to Aurora PostgreSQL",
    )


def import_platform(scope: Construct, imported: ImportedInfra) -> PlatformInfra:
    """Option B: the cluster and database named by context flags, plus EKS -> Aurora on 5432.

    The rule's source is the cluster security group EKS created, read with DescribeCluster at
    deploy time, so that the five flags eksClusterName, kubectlRoleArn, oidcProviderArn,
    auroraEndpoint and auroraSgId are all this mode needs.
    """
    cluster = eks.Cluster.from_cluster_attributes(
        scope,
        "Cluster",
        cluster_name=imported.cluster_name,
        kubectl_role_arn=imported.kubectl_role_arn,
        kubectl_layer=kubectl_layer(scope),
        open_id_connect_provider=iam.OpenIdConnectProvider.from_open_id_connect_provider_arn(
            scope, "OidcProvider", imported.oidc_provider_arn
        ),
    )
    describe = cr.AwsCustomResource(
        scope,
        "DescribeCluster",
        on_update=cr.AwsSdkCall(
            service="EKS",
            action="describeCluster",
            parameters={"name": imported.cluster_name},
            physical_resource_id=cr.PhysicalResourceId.of(imported.cluster_name),
            output_paths=[CLUSTER_SG_PATH],
        ),
        policy=cr.AwsCustomResourcePolicy.from_statements(
            [
                iam.PolicyStatement(
                    actions=["eks:DescribeCluster"],
                    resources=[
                        Stack.of(scope).format_arn(
                            service="eks", resource="cluster", resource_name=imported.cluster_name
                        )
                    ],
                )
            ]
        ),
        install_latest_aws_sdk=False,
    )
    acknowledge(
        Stack.of(scope).node.find_child(AWS_CUSTOM_RESOURCE_SINGLETON),
        "The AwsCustomResource provider that reads the cluster security group uses the AWS "
        "managed Lambda execution policy; its own policy allows only eks:DescribeCluster on "
        "this cluster.",
        LAMBDA_BASIC,
    )
    allow_eks_to_aurora(scope, imported.aurora_sg_id, describe.get_response_field(CLUSTER_SG_PATH))
    return PlatformInfra(
        cluster=cluster,
        aurora_endpoint=imported.aurora_endpoint,
        admin_secret=None,
    )
