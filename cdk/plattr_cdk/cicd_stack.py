"""PlattrCicdStack: GitHub Actions' OIDC provider, the apps' ECR repository, two deploy roles."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Environment, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from .config import CicdSettings
from .ecr import image_repository
from .nag import acknowledge

GITHUB_ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
APPS_REPOSITORY = "plattr-apps"


def github_subject(settings: CicdSettings, branch: str) -> str:
    """The `sub` claim of a workflow run on `branch` of the org's repos (or the filtered ones)."""
    repo = settings.github_repo_filter or "*"
    return f"repo:{settings.github_org}/{repo}:ref:refs/heads/{branch}"


class PlattrCicdStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: CicdSettings,
        env: Environment | None = None,
    ) -> None:
        super().__init__(
            scope, construct_id, env=env, description="Plattr: GitHub Actions OIDC and deploy roles"
        )
        self.provider = iam.OidcProviderNative(
            self, "GitHubOidcProvider", url=f"https://{GITHUB_ISSUER}", client_ids=[AUDIENCE]
        )
        repository = image_repository(self, "AppsRepository", APPS_REPOSITORY, keep=50)
        cluster_arn = self.format_arn(
            service="eks", resource="cluster", resource_name=settings.eks_cluster_name
        )
        roles = {
            # Not `plattr-*`: that prefix is the controller's, for the apps' roles.
            "CiDeployRole": ("github-plattr-ci-deploy", "*", "non-production deploys, any branch"),
            "ProdDeployRole": ("github-plattr-prod-deploy", "main", "production deploys from main"),
        }
        for construct_id_, (role_name, branch, purpose) in roles.items():
            role = self._deploy_role(
                construct_id_, role_name, github_subject(settings, branch), purpose
            )
            repository.grant_pull_push(role)
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="DescribeTheCluster",
                    actions=["eks:DescribeCluster"],
                    resources=[cluster_arn],
                )
            )
            acknowledge(
                role,
                "ecr:GetAuthorizationToken has no resource-level permissions; pushes are "
                f"scoped to the {APPS_REPOSITORY} repository.",
                "AwsSolutions-IAM5[Resource::*]",
            )
            CfnOutput(self, f"{construct_id_}Arn", value=role.role_arn, description=purpose)
        CfnOutput(self, "AppsRepositoryUri", value=repository.repository_uri)

    def _deploy_role(
        self, construct_id: str, role_name: str, subject: str, purpose: str
    ) -> iam.Role:
        # An exact subject is matched with StringEquals; one with a wildcard needs StringLike.
        operator = "StringLike" if "*" in subject else "StringEquals"
        conditions: dict[str, dict[str, str]] = {"StringEquals": {f"{GITHUB_ISSUER}:aud": AUDIENCE}}
        conditions.setdefault(operator, {})[f"{GITHUB_ISSUER}:sub"] = subject
        return iam.Role(
            self,
            construct_id,
            role_name=role_name,
            description=f"GitHub Actions: {purpose}",
            max_session_duration=Duration.hours(1),
            assumed_by=iam.WebIdentityPrincipal(self.provider.oidc_provider_arn, conditions),
        )
