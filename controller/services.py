"""The real provisioners, built from the settings: PostgreSQL (DB_ADMIN_URL, or the RDS
secret DB_SECRET_ARN with DB_HOST), S3 and IAM (the default AWS credential chain, IRSA in a
cluster), Keycloak (KEYCLOAK_*, with the identity providers' credentials read from the
platform's Secret on each use, so a rotated provider secret needs no restart)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from controller.config import Settings
from controller.kinds import SECRET
from controller.machinery.kube import Kube
from controller.metrics import Metrics
from controller.provisioners import identity_providers
from controller.provisioners.auth import KeycloakProvisioner
from controller.provisioners.database import PostgresProvisioner
from controller.provisioners.db_admin import admin_conninfo
from controller.provisioners.storage import S3Provisioner
from controller.reconciler import Provisioners


def oidc_provider_arn(settings: Settings) -> str | None:
    """OIDC_PROVIDER_ARN, else one derived from AWS_ACCOUNT_ID and OIDC_ISSUER."""
    if settings.oidc_provider_arn:
        return settings.oidc_provider_arn
    if settings.aws_account_id and settings.oidc_issuer:
        issuer = settings.oidc_issuer.removeprefix("https://")
        return f"arn:aws:iam::{settings.aws_account_id}:oidc-provider/{issuer}"
    return None


def provider_secret_reader(kube: Kube) -> Callable[[], dict[str, str]]:
    """Reads Secret plattr-system/plattr-identity-providers (empty if it is missing)."""
    path = SECRET.item(identity_providers.SECRET_NAMESPACE, identity_providers.SECRET_NAME)

    def read() -> dict[str, str]:
        secret = kube.get(path) or {}
        data: dict[str, str] = secret.get("data") or {}
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    return read


def _aws_client(settings: Settings, service: str) -> Any:
    import boto3

    return boto3.client(
        service, region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url
    )


def build_provisioners(settings: Settings, kube: Kube, metrics: Metrics) -> Provisioners:
    """The provisioners, their call counts exported through `metrics`."""
    database = settings.database
    conninfo = admin_conninfo(
        admin_url=database.admin_url,
        secret_arn=database.secret_arn,
        host=database.host,
        secretsmanager=_aws_client(settings, "secretsmanager") if database.secret_arn else None,
    )
    storage = S3Provisioner.from_settings(
        region=settings.aws_region,
        endpoint_url=settings.aws_endpoint_url,
        oidc_provider_arn=oidc_provider_arn(settings),
        oidc_issuer=settings.oidc_issuer,
        prefix=settings.bucket_prefix,
    )
    auth = None
    if keycloak := settings.keycloak:
        auth = KeycloakProvisioner.from_settings(
            url=keycloak.url,
            admin_user=keycloak.admin_user,
            admin_password=keycloak.admin_password,
            admin_realm=keycloak.admin_realm,
            identity_providers=provider_secret_reader(kube),
            concurrency=keycloak.concurrency,
        )
    database_provisioner = PostgresProvisioner(conninfo)
    counters = {"database": database_provisioner.calls, "storage": storage.calls}
    if auth is not None:
        counters["auth"] = auth.calls
    metrics.count_provisioner_calls(counters)
    return Provisioners(database=database_provisioner, storage=storage, auth=auth)
