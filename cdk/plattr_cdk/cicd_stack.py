"""PlattrCicdStack: GitHub Actions' OIDC provider, the apps' and the previews' ECR repositories,
and three roles trusted on exact subjects (cdk/README.md, "CI/CD roles").

A job's `sub` claim is `repo:<org>/<repo>:environment:<name>` when the job names a GitHub
environment, else `repo:<org>/<repo>:pull_request` on a pull request event, else
`repo:<org>/<repo>:ref:<ref>`. The template's workflows (gitops-repo-template/.github/workflows)
run `app-ci.yml`'s build job in the GitHub environment of its target and `preview.yml` on
pull requests, so each role trusts exactly those subjects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import CfnOutput, Duration, Environment, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from .config import CicdSettings
from .ecr import (
    PREVIEW_IMAGE_DAYS,
    PREVIEWS_REPOSITORY,
    expire_after,
    image_repository,
    keep_newest,
)
from .nag import acknowledge

GITHUB_ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
APPS_REPOSITORY = "plattr-apps"
PRODUCTION = "production"
NON_PRODUCTION = ("staging", "uat")
"""The GitHub environments of app-ci.yml's build job: Plattr's environments."""
PUSH_ACTIONS = (
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)


def github_subject(settings: CicdSettings, context: str) -> str:
    """The `sub` claim of a job of the org's repos (or the filtered ones) in `context`:
    `environment:<name>`, `pull_request` or `ref:<ref>`."""
    repo = settings.github_repo_filter or "*"
    return f"repo:{settings.github_org}/{repo}:{context}"


@dataclass(frozen=True)
class DeployRole:
    construct_id: str
    role_name: str  # not `plattr-*`: that prefix is the controller's, for the apps' roles
    contexts: tuple[str, ...]
    purpose: str


CI = DeployRole(
    "CiDeployRole",
    "github-plattr-ci-deploy",
    tuple(f"environment:{name}" for name in NON_PRODUCTION),
    "non-production deploys, jobs in the staging or uat environment",
)
PROD = DeployRole(
    "ProdDeployRole",
    "github-plattr-prod-deploy",
    (f"environment:{PRODUCTION}",),
    "production deploys, jobs in the production environment",
)
PREVIEW = DeployRole(
    "PreviewRole",
    "github-plattr-preview",
    ("pull_request",),
    "preview images, pull request runs",
)


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
        self.settings = settings
        self.provider = iam.OidcProviderNative(
            self, "GitHubOidcProvider", url=f"https://{GITHUB_ISSUER}", client_ids=[AUDIENCE]
        )
        apps = image_repository(self, "AppsRepository", APPS_REPOSITORY, keep_newest(50))
        previews = image_repository(
            self, "PreviewsRepository", PREVIEWS_REPOSITORY, expire_after(PREVIEW_IMAGE_DAYS)
        )
        cluster_arn = self.format_arn(
            service="eks", resource="cluster", resource_name=settings.eks_cluster_name
        )
        for deploy in (CI, PROD):
            role = self._role(deploy, apps, APPS_REPOSITORY)
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="DescribeTheCluster",
                    actions=["eks:DescribeCluster"],
                    resources=[cluster_arn],
                )
            )
        preview = self._role(PREVIEW, previews, PREVIEWS_REPOSITORY)
        previews.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyThePreviewRolePushes",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=list(PUSH_ACTIONS),
                conditions={"ArnNotEquals": {"aws:PrincipalArn": preview.role_arn}},
            )
        )
        CfnOutput(self, "AppsRepositoryUri", value=apps.repository_uri)
        CfnOutput(
            self,
            "PreviewsRepositoryUri",
            value=previews.repository_uri,
            description="the plugin's PREVIEW_IMAGE_REPOSITORY; preview.yml pushes here",
        )

    def _role(self, deploy: DeployRole, repository: ecr.Repository, name: str) -> iam.Role:
        """The role, trusted on its subjects, that pushes to `repository` (`name`) only."""
        subjects = [github_subject(self.settings, context) for context in deploy.contexts]
        role = iam.Role(
            self,
            deploy.construct_id,
            role_name=deploy.role_name,
            description=f"GitHub Actions: {deploy.purpose}",
            max_session_duration=Duration.hours(1),
            assumed_by=iam.WebIdentityPrincipal(
                self.provider.oidc_provider_arn, trust_conditions(subjects)
            ),
        )
        repository.grant_pull_push(role)
        acknowledge(
            role,
            "ecr:GetAuthorizationToken has no resource-level permissions; pushes are "
            f"scoped to the {name} repository.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        CfnOutput(
            self, f"{deploy.construct_id}Arn", value=role.role_arn, description=deploy.purpose
        )
        return role


def trust_conditions(subjects: Sequence[str]) -> dict[str, dict[str, str | list[str]]]:
    """`aud` must be STS, `sub` one of `subjects`: `StringEquals` when every subject is exact,
    `StringLike` when one holds a wildcard (a repo filter of `*` or a glob)."""
    operator = "StringLike" if any("*" in subject for subject in subjects) else "StringEquals"
    conditions: dict[str, dict[str, str | list[str]]] = {
        "StringEquals": {f"{GITHUB_ISSUER}:aud": AUDIENCE}
    }
    conditions.setdefault(operator, {})[f"{GITHUB_ISSUER}:sub"] = (
        subjects[0] if len(subjects) == 1 else list(subjects)
    )
    return conditions
