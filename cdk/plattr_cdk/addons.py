"""Third-party add-ons, each one Helm release (plus what it needs), each behind an install* flag."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_eks as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from .config import OperatorSettings
from .ecr import previews_repository_uri
from .irsa import service_account_role
from .nag import acknowledge
from .namespaces import SYSTEM_NAMESPACE
from .repo_files import argocd_values
from .secrets import generated_credentials


@dataclass(frozen=True)
class Chart:
    release: str
    chart: str
    repository: str
    version: str
    namespace: str


ARGO_CD = Chart("argocd", "argo-cd", "https://argoproj.github.io/argo-helm", "7.7.0", "argocd")
CERT_MANAGER = Chart(
    "cert-manager", "cert-manager", "https://charts.jetstack.io", "v1.16.2", "cert-manager"
)
EXTERNAL_DNS = Chart(
    "external-dns",
    "external-dns",
    "https://kubernetes-sigs.github.io/external-dns/",
    "1.15.0",
    "kube-system",
)
INGRESS_NGINX = Chart(
    "ingress-nginx",
    "ingress-nginx",
    "https://kubernetes.github.io/ingress-nginx",
    "4.11.3",
    "ingress-nginx",
)
KEYCLOAK = Chart(
    "keycloak", "keycloakx", "https://codecentric.github.io/helm-charts", "7.0.1", SYSTEM_NAMESPACE
)
KEYCLOAK_IMAGE_TAG = "26.0.7"
KEYCLOAK_ADMIN_USER = "plattr-admin"
# Kubernetes Secrets in plattr-system (names, not values): username + password, and password.
KEYCLOAK_ADMIN_SECRET = "keycloak-admin"  # noqa: S105
KEYCLOAK_DB_SECRET = "keycloak-db"  # noqa: S105
CLUSTER_ISSUER = "letsencrypt-prod"
INGRESS_CLASS = "nginx"
NLB_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer"


@dataclass(frozen=True)
class Target:
    """Where add-ons go and what they read: the cluster, the settings, the database host."""

    cluster: eks.ICluster
    settings: OperatorSettings
    database_host: str


def keycloak_url(base_domain: str) -> str:
    return f"https://keycloak.{base_domain}"


def helm_release(
    scope: Construct,
    construct_id: str,
    cluster: eks.ICluster,
    chart: Chart,
    values: dict[str, Any],
    *,
    wait: bool = False,
) -> eks.HelmChart:
    return eks.HelmChart(
        scope,
        construct_id,
        cluster=cluster,
        release=chart.release,
        chart=chart.chart,
        repository=chart.repository,
        version=chart.version,
        namespace=chart.namespace,
        values=values,
        wait=wait,
        timeout=Duration.minutes(10) if wait else None,
    )


def argocd(scope: Construct, target: Target, plugin_image: str) -> eks.HelmChart:
    """Argo CD with the plattr config-management plugin as a repo-server sidecar.

    The sidecar comes from argocd/repo-server/argo-cd-values.yaml; this sets its image and
    the platform settings the plugin reads from its environment, among them the repository
    that PlattrCicdStack's preview role pushes preview images to.
    """
    env = {
        "BASE_DOMAIN": target.settings.base_domain,
        "AWS_ACCOUNT_ID": Aws.ACCOUNT_ID,
        "PREVIEW_IMAGE_REPOSITORY": previews_repository_uri(scope),
    }
    values = argocd_values(plugin_image, env)
    return helm_release(scope, "ArgoCd", target.cluster, ARGO_CD, values)


def cert_manager(scope: Construct, target: Target) -> eks.HelmChart:
    """cert-manager (with its CRDs) and the `letsencrypt-prod` ACME ClusterIssuer (HTTP-01)."""
    release = helm_release(
        scope, "CertManager", target.cluster, CERT_MANAGER, {"crds": {"enabled": True}}, wait=True
    )
    issuer = eks.KubernetesManifest(
        scope,
        "LetsEncryptProdIssuer",
        cluster=target.cluster,
        manifest=[
            {
                "apiVersion": "cert-manager.io/v1",
                "kind": "ClusterIssuer",
                "metadata": {"name": CLUSTER_ISSUER},
                "spec": {
                    "acme": {
                        "server": "https://acme-v02.api.letsencrypt.org/directory",
                        "email": target.settings.acme_email,
                        "privateKeySecretRef": {"name": f"{CLUSTER_ISSUER}-account-key"},
                        "solvers": [{"http01": {"ingress": {"ingressClassName": INGRESS_CLASS}}}],
                    }
                },
            }
        ],
    )
    issuer.node.add_dependency(release)
    return release


def external_dns(scope: Construct, target: Target, hosted_zone_id: str) -> eks.HelmChart:
    """external-dns writing the records of Ingress hosts into one Route 53 zone."""
    chart = EXTERNAL_DNS
    role = service_account_role(
        scope, "ExternalDnsRole", target.cluster, chart.namespace, "external-dns"
    )
    zone_arn = Stack.of(scope).format_arn(
        service="route53",
        region="",
        account="",
        resource="hostedzone",
        resource_name=hosted_zone_id,
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="RecordsOfTheZone",
            actions=[
                "route53:ChangeResourceRecordSets",
                "route53:ListResourceRecordSets",
                "route53:ListTagsForResource",
            ],
            resources=[zone_arn],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(sid="FindTheZone", actions=["route53:ListHostedZones"], resources=["*"])
    )
    acknowledge(
        role,
        "route53:ListHostedZones has no resource-level permissions; every write is scoped to "
        "the one hosted zone.",
        "AwsSolutions-IAM5[Resource::*]",
    )
    values = {
        "provider": {"name": "aws"},
        "env": [{"name": "AWS_DEFAULT_REGION", "value": Aws.REGION}],
        "domainFilters": [target.settings.base_domain],
        "extraArgs": [f"--zone-id-filter={hosted_zone_id}"],
        "policy": "upsert-only",
        "registry": "txt",
        "txtOwnerId": "plattr",
        "sources": ["ingress", "service"],
        "serviceAccount": {
            "create": True,
            "name": "external-dns",
            "annotations": {"eks.amazonaws.com/role-arn": role.role_arn},
        },
    }
    return helm_release(scope, "ExternalDns", target.cluster, chart, values)


def ingress_nginx(scope: Construct, target: Target) -> eks.HelmChart:
    """ingress-nginx behind an internet-facing AWS Network Load Balancer."""
    values = {
        "controller": {
            "replicaCount": 2,
            "ingressClassResource": {"name": INGRESS_CLASS, "default": True},
            "service": {
                "externalTrafficPolicy": "Local",
                "annotations": {
                    f"{NLB_ANNOTATION}-type": "nlb",
                    f"{NLB_ANNOTATION}-scheme": "internet-facing",
                    f"{NLB_ANNOTATION}-cross-zone-load-balancing-enabled": "true",
                },
            },
        }
    }
    return helm_release(scope, "IngressNginx", target.cluster, INGRESS_NGINX, values)


def keycloak(scope: Construct, target: Target) -> eks.HelmChart:
    """Keycloak 26, 2 replicas on Aurora (database `keycloak`), HTTPS Ingress via cert-manager.

    Its passwords are generated into Secrets Manager (`plattr/keycloak-admin`,
    `plattr/keycloak-db`); cdk/README.md shows the one-time copy into the Kubernetes Secrets
    the pods read, since CloudFormation cannot pass secret values to a Kubernetes manifest.
    """
    for construct_id, name, username in (
        ("KeycloakAdminSecret", "plattr/keycloak-admin", KEYCLOAK_ADMIN_USER),
        ("KeycloakDbSecret", "plattr/keycloak-db", "keycloak"),
    ):
        generated_credentials(
            scope, construct_id, name=name, username=username, description=f"Keycloak: {name}"
        )
    host = keycloak_url(target.settings.base_domain).removeprefix("https://")
    extra_env = [
        {"name": "KC_HOSTNAME", "value": keycloak_url(target.settings.base_domain)},
        {"name": "KC_HTTP_ENABLED", "value": "true"},
        {"name": "KC_PROXY_HEADERS", "value": "xforwarded"},
        {"name": "KC_HEALTH_ENABLED", "value": "true"},
        *(
            {
                "name": f"KC_BOOTSTRAP_ADMIN_{key.upper()}",
                "valueFrom": {"secretKeyRef": {"name": KEYCLOAK_ADMIN_SECRET, "key": key}},
            }
            for key in ("username", "password")
        ),
    ]
    values = {
        "fullnameOverride": "keycloak",
        "replicas": 2,
        "image": {"tag": KEYCLOAK_IMAGE_TAG},
        "command": ["/opt/keycloak/bin/kc.sh", "start", "--http-port=8080"],
        "extraEnv": yaml.safe_dump(extra_env, sort_keys=False),
        "http": {"relativePath": "/"},
        "cache": {"stack": "default"},
        "database": {
            "vendor": "postgres",
            "hostname": target.database_host,
            "port": 5432,
            "database": "keycloak",
            "username": "keycloak",
            "existingSecret": KEYCLOAK_DB_SECRET,
            "existingSecretKey": "password",
        },
        "ingress": {
            "enabled": True,
            "ingressClassName": INGRESS_CLASS,
            "annotations": {"cert-manager.io/cluster-issuer": CLUSTER_ISSUER},
            "rules": [{"host": host, "paths": [{"path": "/", "pathType": "Prefix"}]}],
            "tls": [{"hosts": [host], "secretName": "keycloak-tls"}],
        },
    }
    return helm_release(scope, "Keycloak", target.cluster, KEYCLOAK, values)
