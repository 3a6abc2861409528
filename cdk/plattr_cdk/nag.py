"""cdk-nag's AwsSolutions pack, and the one way this app acknowledges a finding.

cdk-nag 3 acknowledges findings one by one (no prefix matching), so findings on constructs
that aws-cdk-lib builds for us (the EKS kubectl handler, provider frameworks) are listed
here once, with their reasons, and applied wherever such a construct appears.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from aws_cdk import Acknowledgment, CfnCondition, Stack, Token, Validations
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

MANAGED = "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{}]"
LAMBDA_BASIC = MANAGED.format("service-role/AWSLambdaBasicExecutionRole")
LAMBDA_VPC = MANAGED.format("service-role/AWSLambdaVPCAccessExecutionRole")


class ReportedEnvironment(NamedTuple):
    """A stack's partition, region and account as cdk-nag writes them in a finding."""

    partition: str
    region: str
    account: str


def reported_environment(scope: IConstruct) -> ReportedEnvironment:
    """The values cdk-nag puts in the ARNs of its findings for `scope`'s stack: the real ones
    when the environment is known at synth time (`-c account=... -c region=...`), else the
    `<AWS::Partition>`, `<AWS::Region>`, `<AWS::AccountId>` it prints for unresolved tokens.
    An acknowledgment must match the finding exactly, so every ARN we acknowledge is built
    from this."""
    stack = Stack.of(scope)

    def shown(value: str, pseudo: str) -> str:
        return f"<AWS::{pseudo}>" if Token.is_unresolved(value) else value

    return ReportedEnvironment(
        shown(stack.partition, "Partition"),
        shown(stack.region, "Region"),
        shown(stack.account, "AccountId"),
    )


def enable_checks(scope: IConstruct) -> None:
    """Run AwsSolutions on every stack under `scope`; an unacknowledged finding fails synth."""
    Validations.of(scope).add_plugins(AwsSolutionsChecks(scope, verbose=True))


def acknowledge(scope: IConstruct, reason: str, *rule_ids: str) -> None:
    """Accept findings on `scope` and its children, with the reason recorded next to the code."""
    acknowledgments = (Acknowledgment(id=rule, reason=reason) for rule in rule_ids)
    Validations.of(scope).acknowledge(*acknowledgments)


def _invokes_own_versions(scope: IConstruct) -> Iterator[str]:
    """IAM5 on `<Function.Arn>:*`: a provider framework invoking its own functions' versions.

    Every function of a provider is invoked by another one (or by its waiter state machine)
    except the framework's entry point, which CloudFormation invokes.
    """
    stack = Stack.of(scope)
    for child in scope.node.find_all():
        invoked = child.node.scope is not None and child.node.scope.node.id != "framework-onEvent"
        if isinstance(child, lambda_.CfnFunction) and invoked:
            yield f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(child)}.Arn>:*]"


def _public_ecr_if_used(scope: IConstruct) -> Iterator[str]:
    """IAM4 on the public-ECR read-only policy aws-eks attaches under a `HasEcrPublic` condition."""
    stack = Stack.of(scope)
    policy = (
        '{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},'
        '":iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly"]]}'
    )
    for child in scope.node.find_all():
        if isinstance(child, CfnCondition) and child.node.id.endswith("HasEcrPublic"):
            condition = stack.get_logical_id(child)
            no_value = '{"Ref":"AWS::NoValue"}'
            yield f'AwsSolutions-IAM4[Policy::{{"Fn::If":["{condition}",{policy},{no_value}]}}]'


def acknowledge_provider(provider: IConstruct, reason: str, *rule_ids: str) -> None:
    """Findings on a provider framework aws-cdk-lib builds and does not let us configure."""
    acknowledge(provider, reason, LAMBDA_BASIC, *rule_ids, *_invokes_own_versions(provider))


def acknowledge_kubectl_handler(scope: IConstruct, *, in_vpc: bool) -> None:
    """aws-eks' kubectl handler under `scope`: the cluster, or an imported cluster's provider.

    `in_vpc`: the handler runs in the cluster's VPC (a cluster CDK created), which adds the
    managed VPC-access policy.
    """
    env = reported_environment(scope)
    asset_bucket = f"arn:{env.partition}:s3:::cdk-hnb659fds-assets-{env.account}-{env.region}/*"
    acknowledge(
        scope,
        "aws-eks' kubectl handler: AWS managed Lambda execution and image-pull policies, and "
        "read access to the CDK asset bucket, where our Helm chart asset is uploaded.",
        LAMBDA_BASIC,
        *([LAMBDA_VPC] if in_vpc else []),
        MANAGED.format("AmazonEC2ContainerRegistryPullOnly"),
        *_public_ecr_if_used(scope),
        "AwsSolutions-IAM5[Action::s3:GetBucket*]",
        "AwsSolutions-IAM5[Action::s3:GetObject*]",
        "AwsSolutions-IAM5[Action::s3:List*]",
        f"AwsSolutions-IAM5[Resource::{asset_bucket}]",
    )


def acknowledge_kubectl_provider(stack: Stack, *, in_vpc: bool) -> IConstruct | None:
    """The kubectl provider aws-eks adds to the stack that owns or imports the cluster."""
    provider = next(
        (child for child in stack.node.children if child.node.id.endswith("KubectlProvider")),
        None,
    )
    if provider is not None:
        acknowledge_provider(
            provider,
            "aws-eks' kubectl provider: its runtime is pinned by aws-cdk-lib to match the "
            "kubectl layer; its framework uses the AWS managed Lambda execution policies.",
            *([LAMBDA_VPC] if in_vpc else []),
            "AwsSolutions-L1",
        )
    return provider
