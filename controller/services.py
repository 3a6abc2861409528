"""The real provisioners, built from the settings: PostgreSQL (DB_ADMIN_URL, or the RDS
secret DB_SECRET_ARN with DB_HOST), S3 and IAM (the default AWS credential chain, IRSA in a
cluster), Keycloak (KEYCLOAK_*, with its admin credentials (KEYCLOAK_ADMIN_SECRET) and the
identity providers' credentials read from their Secrets on each use, so a Secret created
or rotated after the start needs no restart)."""

from __future__ import annotations

import base64
from collections.abc import Callable

from controller.config import KeycloakSettings, Settings
from controller.kinds import SECRET
from controller.machinery.kube import Kube
from controller.metrics import Metrics
from controller.provisioners import aws, identity_providers
from controller.provisioners.auth import (
    AdminCredentials,
    AdminSecret,
    KeycloakProvisioner,
    admin_credentials,
)
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


def secret_reader(kube: Kube, namespace: str, name: str) -> Callable[[], dict[str, str] | None]:
    """Reads the Secret's decoded data through the API on each call (None: no such Secret)."""
    path = SECRET.item(namespace, name)

    def read() -> dict[str, str] | None:
        secret = kube.get(path)
        if secret is None:
            return None
        data: dict[str, str] = secret.get("data") or {}
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    return read


def provider_secret_reader(kube: Kube) -> Callable[[], dict[str, str]]:
    """Reads Secret plattr-system/plattr-identity-providers (empty if it is missing)."""
    read = secret_reader(kube, identity_providers.SECRET_NAMESPACE, identity_providers.SECRET_NAME)
    return lambda: read() or {}


def keycloak_admin(keycloak: KeycloakSettings, kube: Kube) -> AdminSecret:
    """The admin credentials: KEYCLOAK_ADMIN_USER/PASSWORD as they are, or a reader of the
    Secret KEYCLOAK_ADMIN_SECRET names."""
    if (ref := keycloak.admin_secret) is None:
        return AdminCredentials(keycloak.admin_user or "", keycloak.admin_password or "")
    read = secret_reader(kube, ref.namespace, ref.name)
    return lambda: admin_credentials(read(), str(ref), keycloak.admin_user)


def build_provisioners(settings: Settings, kube: Kube, metrics: Metrics) -> Provisioners:
    """The provisioners, their call counts exported through `metrics`."""
    database = settings.database
    conninfo = admin_conninfo(
        admin_url=database.admin_url,
        secret_arn=database.secret_arn,
        host=database.host,
        secretsmanager=aws.client(
            "secretsmanager", region=settings.aws_region, endpoint_url=settings.aws_endpoint_url
        )
        if database.secret_arn
        else None,
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
            credentials=keycloak_admin(keycloak, kube),
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
