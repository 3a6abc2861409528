"""PlattrOperatorStack: the controller, its CRDs, permissions and add-ons, and the environments."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, Aws, Environment, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_eks as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from . import addons
from .config import ImportedInfra, OperatorSettings
from .ecr import image_repository, keep_newest
from .irsa import service_account_role
from .nag import (
    acknowledge,
    acknowledge_kubectl_handler,
    acknowledge_kubectl_provider,
    reported_environment,
)
from .namespaces import SYSTEM_NAMESPACE, environment_namespaces, system_namespace
from .platform import (
    ADMIN_SECRET_NAME,
    ADMIN_USER,
    DATABASE_NAME,
    POSTGRES_PORT,
    PlatformInfra,
    import_platform,
)
from .repo_files import CHART_DIR, chart_missing_reason, environments_declaration, load_crds
from .secrets import generated_credentials

RELEASE = "plattr-operator"
SERVICE_ACCOUNT = "plattr-operator"
OPERATOR_REPOSITORY = "plattr-operator"
# Exactly the calls of controller/provisioners/storage.py (HeadBucket is s3:ListBucket;
# emptying a bucket lists and deletes object versions).
BUCKET_ACTIONS = [
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:PutBucketPublicAccessBlock",
    "s3:GetBucketTagging",
    "s3:PutBucketTagging",
]
OBJECT_ACTIONS = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
# Each app and environment gets an IRSA role `plattr-<app>-<env>` (plattr/naming.py,
# IAM_ROLE_PREFIX) with an inline policy on its own buckets.
APP_ROLE_PREFIX = "plattr-"
APP_ROLE_ACTIONS = [
    "iam:GetRole",
    "iam:CreateRole",
    "iam:TagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:DeleteRole",
    "iam:GetRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:ListRolePolicies",
]


class PlattrOperatorStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: OperatorSettings,
        platform: PlatformInfra | ImportedInfra,
        env: Environment | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=env,
            description="Plattr: controller, CRDs, add-ons and environment namespaces",
        )
        if isinstance(platform, ImportedInfra):
            platform = import_platform(self, platform)
        cluster = platform.cluster
        namespace = system_namespace(self, cluster)
        crds = self._crds(cluster)
        admin_secret = platform.admin_secret or generated_credentials(
            self,
            "DbAdminSecret",
            name=ADMIN_SECRET_NAME,
            username=ADMIN_USER,
            description="Aurora admin credentials for the Plattr controller",
            fields={
                "engine": "postgres",
                "host": platform.aurora_endpoint,
                "port": POSTGRES_PORT,
                "dbname": DATABASE_NAME,
            },
        )
        repository = image_repository(
            self, "OperatorRepository", OPERATOR_REPOSITORY, keep_newest(25)
        )
        role = self._controller_role(cluster, settings, admin_secret)
        target = addons.Target(cluster, settings, platform.aurora_endpoint)
        argocd = self._addons(target, f"{repository.repository_uri}:{settings.plugin_image_tag}")
        environments, declared = environments_declaration(settings.environments_file)
        values = self._release_values(settings, platform, admin_secret, repository, role)
        values["environments"] = declared  # the one source: the chart hands it on
        if argocd is not None:  # and to the plugin sidecar, in Argo CD's namespace
            values["argocd"] = {"pluginEnvironments": True}
        release = eks.HelmChart(
            self,
            "OperatorRelease",
            cluster=cluster,
            chart_asset=s3_assets.Asset(self, "ChartAsset", path=str(CHART_DIR)),
            release=RELEASE,
            namespace=SYSTEM_NAMESPACE,
            create_namespace=False,
            skip_crds=True,  # the CRDs are applied above, owned by this stack
            values=values,
        )
        release.node.add_dependency(namespace, *crds, *([argocd] if argocd else []))
        environment_namespaces(self, cluster, environments)
        # The stack has its own kubectl provider when it imports the cluster (Option B).
        kubectl_provider = acknowledge_kubectl_provider(self, in_vpc=False)
        if kubectl_provider is not None:
            acknowledge_kubectl_handler(kubectl_provider, in_vpc=False)

    @staticmethod
    def _release_values(
        settings: OperatorSettings,
        platform: PlatformInfra,
        admin_secret: secretsmanager.ISecret,
        repository: ecr.IRepository,
        role: iam.IRole,
    ) -> dict[str, Any]:
        """The chart's values: image, IRSA ServiceAccount, and the controller's environment
        (its variables are described in controller/README.md)."""
        env = {
            "DB_SECRET_ARN": admin_secret.secret_arn,
            "DB_HOST": platform.aurora_endpoint,
            "AWS_REGION": Aws.REGION,
            "BASE_DOMAIN": settings.base_domain,
            "LEADER_ELECTION": "true",
            "LEASE_NAMESPACE": SYSTEM_NAMESPACE,
            # What the controller needs to give apps IRSA roles on their buckets.
            "AWS_ACCOUNT_ID": Aws.ACCOUNT_ID,
            "OIDC_PROVIDER_ARN": (
                platform.cluster.open_id_connect_provider.open_id_connect_provider_arn
            ),
            "BUCKET_PREFIX": settings.bucket_prefix,
        }
        values: dict[str, Any] = {}
        if settings.addons.keycloak:
            env["KEYCLOAK_URL"] = addons.keycloak_url(settings.base_domain)
            env["KEYCLOAK_ADMIN_USER"] = addons.KEYCLOAK_ADMIN_USER
            # Read through the API, not mounted: the controller starts before the Secret
            # exists (cdk/README.md's one step after the first deploy) and picks it up then.
            values["keycloakAdminSecret"] = addons.KEYCLOAK_ADMIN_SECRET
        return {
            **values,
            "image": {
                "repository": repository.repository_uri,
                "tag": settings.controller_image_tag,
            },
            "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT, "roleArn": role.role_arn},
            "env": env,
        }

    def _crds(self, cluster: eks.ICluster) -> list[eks.KubernetesManifest]:
        problem = chart_missing_reason()
        if problem:
            Annotations.of(self).add_warning_v2("plattr:chart", problem)
        crds = load_crds()
        if not crds:
            Annotations.of(self).add_warning_v2(
                "plattr:crds", f"no CustomResourceDefinition in {CHART_DIR}/crds/*.yaml"
            )
            return []
        return [eks.KubernetesManifest(self, "Crds", cluster=cluster, manifest=crds)]

    def _controller_role(
        self,
        cluster: eks.ICluster,
        settings: OperatorSettings,
        admin_secret: secretsmanager.ISecret,
    ) -> iam.Role:
        """The platform's buckets and app roles only, that one admin secret, and who-am-I."""
        role = service_account_role(
            self, "ControllerRole", cluster, SYSTEM_NAMESPACE, SERVICE_ACCOUNT
        )
        buckets = f"arn:{self.partition}:s3:::{settings.bucket_prefix}-*"
        role.add_to_policy(
            iam.PolicyStatement(sid="PlatformBuckets", actions=BUCKET_ACTIONS, resources=[buckets])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PlatformObjects", actions=OBJECT_ACTIONS, resources=[f"{buckets}/*"]
            )
        )
        app_roles = self.format_arn(
            service="iam", region="", resource="role", resource_name=f"{APP_ROLE_PREFIX}*"
        )
        role.add_to_policy(
            iam.PolicyStatement(sid="AppRoles", actions=APP_ROLE_ACTIONS, resources=[app_roles])
        )
        admin_secret.grant_read(role)
        role.add_to_policy(
            iam.PolicyStatement(sid="WhoAmI", actions=["sts:GetCallerIdentity"], resources=["*"])
        )
        env = reported_environment(role)
        acknowledge(
            role,
            "Bucket and role names are derived per app and environment at run time; the "
            f"prefixes '{settings.bucket_prefix}-' and '{APP_ROLE_PREFIX}' are the narrowest "
            "names the platform fixes in advance (no other role of this app starts with "
            f"'{APP_ROLE_PREFIX}'). sts:GetCallerIdentity, kept from the role of the operator "
            "Plattr replaces (it tells who the controller runs as), has no resource-level "
            "permissions.",
            f"AwsSolutions-IAM5[Resource::arn:{env.partition}:s3:::{settings.bucket_prefix}-*]",
            f"AwsSolutions-IAM5[Resource::arn:{env.partition}:s3:::{settings.bucket_prefix}-*/*]",
            f"AwsSolutions-IAM5[Resource::arn:{env.partition}:iam::{env.account}:role/"
            f"{APP_ROLE_PREFIX}*]",
            "AwsSolutions-IAM5[Resource::*]",
        )
        return role

    def _addons(self, target: addons.Target, plugin_image: str) -> eks.HelmChart | None:
        """The add-ons; returns the Argo CD release, if installed."""
        flags = target.settings.addons
        argocd = addons.argocd(self, target, plugin_image) if flags.argocd else None
        if flags.cert_manager:
            addons.cert_manager(self, target)
        if flags.external_dns_zone:
            addons.external_dns(self, target, flags.external_dns_zone)
        if flags.ingress_nginx:
            addons.ingress_nginx(self, target)
        if flags.keycloak:
            addons.keycloak(self, target)
        return argocd
