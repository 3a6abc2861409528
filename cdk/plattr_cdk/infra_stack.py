"""PlattrInfraStack: VPC, EKS 1.31 with a managed node group, Aurora Serverless v2."""

from __future__ import annotations

from typing import cast

from aws_cdk import CfnOutput, Duration, Environment, Fn, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

from .config import InfraSettings
from .nag import (
    MANAGED,
    acknowledge,
    acknowledge_kubectl_handler,
    acknowledge_kubectl_provider,
    acknowledge_provider,
    reported_environment,
)
from .platform import (
    ADMIN_SECRET_NAME,
    ADMIN_USER,
    DATABASE_NAME,
    PlatformInfra,
    allow_eks_to_aurora,
    kubectl_layer,
)

AURORA_CLUSTER_ID = "plattr-aurora"


AVAILABILITY_ZONES = 2


class PlattrInfraStack(Stack):
    @property
    def availability_zones(self) -> list[str]:
        """The region's first two zones, chosen by CloudFormation at deploy time (`Fn::GetAZs`).

        CDK's default looks the zones up in the account when the stack's account and region
        are given (`-c account=... -c region=...`), which needs AWS credentials at synth and
        a `cdk.context.json` to be reproducible; this gives the same template with or
        without them, and synthesizes offline.
        """
        return [Fn.select(index, Fn.get_azs()) for index in range(AVAILABILITY_ZONES)]

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: InfraSettings,
        env: Environment | None = None,
    ) -> None:
        super().__init__(
            scope, construct_id, env=env, description="Plattr: VPC, EKS and Aurora (Option A)"
        )
        vpc = self._vpc()
        cluster = self._cluster(vpc, settings)
        aurora = self._aurora(vpc, settings)
        aurora_sg = aurora.connections.security_groups[0]
        allow_eks_to_aurora(self, aurora_sg.security_group_id, cluster.cluster_security_group_id)
        self.platform = PlatformInfra(
            # Cluster implements ICluster; its jsii stub omits the optional kubectl_provider.
            cluster=cast(eks.ICluster, cluster),
            aurora_endpoint=aurora.cluster_endpoint.hostname,
            admin_secret=self.admin_secret,
        )
        outputs = {
            "ClusterName": (cluster.cluster_name, "EKS cluster name"),
            "KubectlRoleArn": (self.kubectl_role.role_arn, "IAM role for kubectl access"),
            "OidcProviderArn": (
                cluster.open_id_connect_provider.open_id_connect_provider_arn,
                "OIDC provider ARN for IRSA",
            ),
            "AuroraEndpoint": (self.platform.aurora_endpoint, "Aurora cluster writer endpoint"),
            "AuroraSecurityGroupId": (aurora_sg.security_group_id, "Aurora security group ID"),
        }
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)
        acknowledge_kubectl_provider(self, in_vpc=True)

    def _vpc(self) -> ec2.Vpc:
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=AVAILABILITY_ZONES,
            nat_gateways=1,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                ),
            ],
        )
        vpc.add_flow_log(
            "RejectedTraffic",
            traffic_type=ec2.FlowLogTrafficType.REJECT,
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                logs.LogGroup(self, "FlowLogs", retention=logs.RetentionDays.ONE_MONTH)
            ),
        )
        return vpc

    def _cluster(self, vpc: ec2.Vpc, settings: InfraSettings) -> eks.Cluster:
        # The kubectl role: CDK's kubectl handler and people (`aws eks update-kubeconfig
        # --role-arn`) both assume it; it is the role Option B's -c kubectlRoleArn names.
        self.kubectl_role = iam.Role(
            self,
            "KubectlRole",
            description="kubectl access to the Plattr cluster (system:masters)",
            assumed_by=iam.AccountRootPrincipal(),
            max_session_duration=Duration.hours(1),
        )
        control_plane_logs = logs.LogGroup(
            self,
            "ControlPlaneLogs",
            log_group_name=f"/aws/eks/{settings.cluster_name}/cluster",
            retention=logs.RetentionDays.ONE_MONTH,
        )
        cluster = eks.Cluster(
            self,
            "Cluster",
            cluster_name=settings.cluster_name,
            version=eks.KubernetesVersion.V1_31,
            kubectl_layer=kubectl_layer(self),
            vpc=vpc,
            vpc_subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)],
            default_capacity=0,
            masters_role=self.kubectl_role,
            output_config_command=False,
            endpoint_access=eks.EndpointAccess.PUBLIC_AND_PRIVATE,
            cluster_logging=list(eks.ClusterLoggingTypes),
        )
        cluster.node.add_dependency(control_plane_logs)
        cluster.add_nodegroup_capacity(
            "Nodes",
            instance_types=[ec2.InstanceType(settings.node_instance_type)],
            min_size=settings.node_min_size,
            max_size=settings.node_max_size,
            desired_size=settings.node_desired_size,
            capacity_type=eks.CapacityType.ON_DEMAND,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        )
        self._acknowledge_cluster_findings(cluster, settings.cluster_name)
        return cluster

    def _acknowledge_cluster_findings(self, cluster: eks.Cluster, name: str) -> None:
        env = reported_environment(cluster)
        eks_arn = f"arn:{env.partition}:eks:{env.region}:{env.account}"
        acknowledge(
            cluster,
            "The API endpoint stays public (and private) so that CDK's kubectl handler, which "
            "runs outside the VPC, and operators can reach it; access is IAM-authenticated.",
            "AwsSolutions-EKS1",
        )
        acknowledge(
            cluster,
            "EKS requires these AWS managed policies on the cluster role and on managed node "
            "groups' node role.",
            *(
                MANAGED.format(name)
                for name in (
                    "AmazonEKSClusterPolicy",
                    "AmazonEKSWorkerNodePolicy",
                    "AmazonEKS_CNI_Policy",
                    "AmazonEC2ContainerRegistryReadOnly",
                )
            ),
        )
        acknowledge_kubectl_handler(cluster, in_vpc=True)
        acknowledge(
            cluster,
            "aws-eks' creation role manages this cluster's own sub-resources (cluster/<name>/*, "
            "fargateprofile/<name>/*) and calls EC2/IAM describe actions that have no resource "
            "scope.",
            f"AwsSolutions-IAM5[Resource::{eks_arn}:cluster/{name}/*]",
            f"AwsSolutions-IAM5[Resource::{eks_arn}:fargateprofile/{name}/*]",
            "AwsSolutions-IAM5[Resource::*]",
        )
        provider = self.node.find_child("@aws-cdk--aws-eks.ClusterResourceProvider")
        acknowledge_provider(
            provider,
            "aws-eks' cluster-resource provider framework (Lambda + waiter state machine) is "
            "built by aws-cdk-lib with the AWS managed execution policy and no logging options.",
            "AwsSolutions-SF1",
            "AwsSolutions-SF2",
        )

    def _aurora(self, vpc: ec2.Vpc, settings: InfraSettings) -> rds.DatabaseCluster:
        # The cluster's master credentials are the controller's `plattr/db-admin`.
        self.admin_secret = rds.DatabaseSecret(
            self, "DbAdminSecret", username=ADMIN_USER, secret_name=ADMIN_SECRET_NAME
        )
        aurora_logs = logs.LogGroup(
            self,
            "AuroraLogs",
            log_group_name=f"/aws/rds/cluster/{AURORA_CLUSTER_ID}/postgresql",
            retention=logs.RetentionDays.ONE_MONTH,
        )
        aurora = rds.DatabaseCluster(
            self,
            "Aurora",
            cluster_identifier=AURORA_CLUSTER_ID,
            engine=rds.DatabaseClusterEngine.aurora_postgres(
                version=rds.AuroraPostgresEngineVersion.VER_16_4
            ),
            writer=rds.ClusterInstance.serverless_v2("Writer"),
            serverless_v2_min_capacity=settings.aurora_min_capacity,
            serverless_v2_max_capacity=settings.aurora_max_capacity,
            default_database_name=DATABASE_NAME,
            credentials=rds.Credentials.from_secret(self.admin_secret),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            storage_encrypted=True,
            iam_authentication=True,
            deletion_protection=True,
            removal_policy=RemovalPolicy.SNAPSHOT,
            backup=rds.BackupProps(retention=Duration.days(7)),
            cloudwatch_logs_exports=["postgresql"],
        )
        aurora.node.add_dependency(aurora_logs)
        acknowledge(
            self.admin_secret,
            "Master password rotation is manual (cdk/README.md, 'Rotating credentials'): the "
            "controller reads it on connect, so a rotation is followed by its restart.",
            "AwsSolutions-SMG4",
        )
        return aurora
