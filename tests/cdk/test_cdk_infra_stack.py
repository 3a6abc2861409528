"""PlattrInfraStack (Option A): VPC, EKS 1.31 and its node group, Aurora, the five outputs."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk.assertions import Match

from tests.support.cdk_helpers import resources, template


def test_only_with_use_infra_stack(byo_mode: dict[str, Stack]) -> None:
    assert "PlattrInfraStack" not in byo_mode


def test_vpc_over_two_azs_with_one_nat_gateway(infra_mode: dict[str, Stack]) -> None:
    infra = template(infra_mode, "PlattrInfraStack")
    infra.resource_count_is("AWS::EC2::VPC", 1)
    infra.resource_count_is("AWS::EC2::NatGateway", 1)
    infra.resource_count_is("AWS::EC2::Subnet", 4)  # public + private in each of 2 AZs
    infra.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "REJECT"})


def test_eks_131_with_the_node_group_from_context(infra_mode: dict[str, Stack]) -> None:
    infra = template(infra_mode, "PlattrInfraStack")
    infra.has_resource_properties(
        "Custom::AWSCDK-EKS-Cluster",
        {"Config": Match.object_like({"name": "plattr-nonprod", "version": "1.31"})},
    )
    infra.resource_count_is("AWS::EKS::Nodegroup", 1)
    infra.has_resource_properties(
        "AWS::EKS::Nodegroup",
        {
            "InstanceTypes": ["m5.xlarge"],
            "CapacityType": "ON_DEMAND",
            "ScalingConfig": {"MinSize": 3, "MaxSize": 6, "DesiredSize": 4},
        },
    )
    infra.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": "/aws/eks/plattr-nonprod/cluster", "RetentionInDays": 30},
    )


def test_kubectl_role_is_the_clusters_masters_role(infra_mode: dict[str, Stack]) -> None:
    infra = template(infra_mode, "PlattrInfraStack")
    (role_id,) = [
        key
        for key, role in resources(infra, "AWS::IAM::Role").items()
        if key.startswith("KubectlRole")
    ]
    role = resources(infra, "AWS::IAM::Role")[role_id]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    assert "AWS" in statement["Principal"]  # the account, through IAM policies only
    assert role["MaxSessionDuration"] == 3600
    outputs = infra.find_outputs("KubectlRoleArn")
    assert outputs["KubectlRoleArn"]["Value"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_aurora_serverless_v2_postgres_164(infra_mode: dict[str, Stack]) -> None:
    infra = template(infra_mode, "PlattrInfraStack")
    infra.resource_count_is("AWS::RDS::DBCluster", 1)
    infra.has_resource(
        "AWS::RDS::DBCluster",
        {
            "DeletionPolicy": "Snapshot",
            "Properties": Match.object_like(
                {
                    "Engine": "aurora-postgresql",
                    "EngineVersion": "16.4",
                    "DatabaseName": "plattr",
                    "DBClusterIdentifier": "plattr-aurora",
                    "ServerlessV2ScalingConfiguration": {"MinCapacity": 1, "MaxCapacity": 8},
                    "StorageEncrypted": True,
                    "DeletionProtection": True,
                    "BackupRetentionPeriod": 7,
                }
            ),
        },
    )
    infra.resource_count_is("AWS::RDS::DBInstance", 1)
    infra.has_resource_properties("AWS::RDS::DBInstance", {"DBInstanceClass": "db.serverless"})
    infra.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"Name": "plattr/db-admin", "GenerateSecretString": Match.object_like({})},
    )


def test_eks_may_reach_aurora_on_5432_only(infra_mode: dict[str, Stack]) -> None:
    infra = template(infra_mode, "PlattrInfraStack")
    rules = [
        r["Properties"]
        for r in resources(infra, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"].get("FromPort") == 5432
    ]
    assert len(rules) == 1
    (rule,) = rules
    assert rule["ToPort"] == 5432
    assert rule["IpProtocol"] == "tcp"
    assert rule["SourceSecurityGroupId"]["Fn::GetAtt"][1] == "ClusterSecurityGroupId"
    assert rule["GroupId"]["Fn::GetAtt"][1] == "GroupId"


def test_the_infra_stack_has_its_five_outputs(infra_mode: dict[str, Stack]) -> None:
    everything = template(infra_mode, "PlattrInfraStack").find_outputs("*")
    # Besides these, CDK exports what the operator stack references (ExportsOutput…).
    outputs = {k: v for k, v in everything.items() if not k.startswith("ExportsOutput")}
    assert set(outputs) == {
        "ClusterName",
        "KubectlRoleArn",
        "OidcProviderArn",
        "AuroraEndpoint",
        "AuroraSecurityGroupId",
    }
    assert outputs["AuroraEndpoint"]["Value"]["Fn::GetAtt"][1] == "Endpoint.Address"
