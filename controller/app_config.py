"""The contents of the Secrets and the ConfigMap an app reads (keys from
`plattr.secret_keys`), and the labels that tie them to the resource they belong to."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Final
from urllib.parse import quote

from controller.machinery.objects import ObjectKey
from controller.provisioners.interfaces import AuthCredentials, DatabaseEndpoint
from plattr import secret_keys
from plattr.labels import (
    INSTANCE_LABEL,
    MANAGED_BY_LABEL,
    NAME_LABEL,
    OWNER_KIND_LABEL,
    OWNER_NAME_LABEL,
    OWNER_NAMESPACE_LABEL,
    PROVISIONED_BY,
)
from plattr.naming import Target

PASSWORD_BYTES: Final = 24


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def owner_labels(owner: ObjectKey, target: Target) -> dict[str, str]:
    return {
        MANAGED_BY_LABEL: PROVISIONED_BY,
        INSTANCE_LABEL: target.instance,
        NAME_LABEL: target.app,
        OWNER_KIND_LABEL: owner.kind,
        OWNER_NAME_LABEL: owner.name,
        OWNER_NAMESPACE_LABEL: owner.namespace,
    }


def owner_of(namespace: str, labels: Mapping[str, str]) -> ObjectKey | None:
    """The Application or PreviewEnvironment a Secret or ConfigMap with these labels serves
    (it may live in another namespace: an app's Secrets go to its environment's)."""
    kind, name = labels.get(OWNER_KIND_LABEL), labels.get(OWNER_NAME_LABEL)
    if not kind or not name:
        return None
    return ObjectKey(kind, labels.get(OWNER_NAMESPACE_LABEL, namespace), name)


def database_secret(endpoint: DatabaseEndpoint, target: Target, password: str) -> dict[str, str]:
    user = target.login_role
    url = (
        f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}"
        f"@{endpoint.host}:{endpoint.port}/{quote(endpoint.dbname, safe='')}"
    )
    return {
        secret_keys.DATABASE_URL: url,
        secret_keys.PGHOST: endpoint.host,
        secret_keys.PGPORT: str(endpoint.port),
        secret_keys.PGDATABASE: endpoint.dbname,
        secret_keys.PGUSER: user,
        secret_keys.PGPASSWORD: password,
    }


def storage_config(buckets: Mapping[str, str], region: str) -> dict[str, str]:
    """Logical bucket name → real name, under `BUCKET_<NAME>` keys, plus the region."""
    data = {secret_keys.bucket_key(logical): real for logical, real in buckets.items()}
    data[secret_keys.STORAGE_REGION] = region
    return data


def auth_secret(credentials: AuthCredentials) -> dict[str, str]:
    return {
        secret_keys.OIDC_ISSUER_URL: credentials.issuer_url,
        secret_keys.OIDC_CLIENT_ID: credentials.client_id,
        secret_keys.OIDC_CLIENT_SECRET: credentials.client_secret,
    }


def redirect_uris(target: Target, base_domain: str, extra_hosts: tuple[str, ...]) -> list[str]:
    hosts = dict.fromkeys((target.host(base_domain), *extra_hosts))
    return [f"https://{host}/*" for host in hosts]
