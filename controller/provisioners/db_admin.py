"""Where the database provisioner's admin connection comes from.

Two sources (controller/README.md, "Configuration"): `DB_ADMIN_URL` (a postgresql:// URL,
for dev), or the secret `DB_SECRET_ARN` in Secrets Manager in the shape RDS gives its managed
master-user secrets (JSON with username, password, host, port, dbname), with `DB_HOST`
overriding its host. Both end as a libpq conninfo string. The runtime reads the configuration
and calls `admin_conninfo`; nothing here reads the environment.
"""

from __future__ import annotations

import json
from typing import Any

from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from controller.provisioners.interfaces import ProvisionerError

DEFAULT_PORT = 5432
RDS_SECRET_KEYS = ("username", "password", "host", "port", "dbname")
_REASON = "DatabaseError"


def conninfo_from_url(url: str) -> str:
    """Check a DB_ADMIN_URL and return it as a conninfo string."""
    try:
        params = conninfo_to_dict(url)
    except ProgrammingError:
        # libpq's message may quote the URL, password included: name the fix instead.
        raise ProvisionerError(
            _REASON,
            "DB_ADMIN_URL is not a valid PostgreSQL URL; use "
            "postgresql://USER:PASSWORD@HOST:PORT/DBNAME (percent-encode the password)",
        ) from None
    missing = [key for key in ("host", "user") if not params.get(key)]
    if missing:
        raise ProvisionerError(
            _REASON, f"DB_ADMIN_URL has no {' and no '.join(missing)}; add it to the URL"
        )
    return make_conninfo(**params)  # type: ignore[arg-type]


def conninfo_from_rds_secret(secret_string: str, *, host: str | None = None) -> str:
    """A conninfo from the JSON of an RDS-shaped secret; `host` (DB_HOST) wins if given."""
    try:
        value = json.loads(secret_string)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise ProvisionerError(
            _REASON,
            "the database admin secret is not a JSON object; store "
            f"{{{', '.join(RDS_SECRET_KEYS)}}} in it, as RDS does",
        )
    if host:
        value["host"] = host
    missing = [key for key in ("username", "password", "host") if not value.get(key)]
    if missing:
        raise ProvisionerError(
            _REASON,
            f"the database admin secret lacks {', '.join(missing)}; add "
            f"{' and '.join(missing)} to it (host may come from DB_HOST instead)",
        )
    return make_conninfo(
        host=str(value["host"]),
        port=str(value.get("port") or DEFAULT_PORT),
        dbname=str(value.get("dbname") or "postgres"),
        user=str(value["username"]),
        password=str(value["password"]),
    )


def fetch_secret_string(secretsmanager: Any, secret_arn: str) -> str:
    """The SecretString of `secret_arn`, through a boto3 Secrets Manager client."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = secretsmanager.get_secret_value(SecretId=secret_arn)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise ProvisionerError(
            _REASON,
            f"Secrets Manager refused to read {secret_arn}: {error.get('Code')}: "
            f"{error.get('Message')}; check DB_SECRET_ARN and the controller's IAM role "
            "(secretsmanager:GetSecretValue)",
        ) from None
    except BotoCoreError as exc:
        raise ProvisionerError(
            "DatabaseUnreachable",
            f"cannot reach Secrets Manager to read {secret_arn}: {exc}; check AWS_REGION "
            "and AWS_ENDPOINT_URL",
        ) from None
    secret = answer.get("SecretString")
    if not isinstance(secret, str):
        raise ProvisionerError(
            _REASON, f"{secret_arn} has no SecretString; store the credentials as JSON text"
        )
    return secret


def admin_conninfo(
    *,
    admin_url: str | None,
    secret_arn: str | None,
    host: str | None,
    secretsmanager: Any = None,
) -> str:
    """The admin conninfo from the configuration: DB_ADMIN_URL if set, else DB_SECRET_ARN
    (read with `secretsmanager`, a boto3 client) with DB_HOST."""
    if admin_url:
        return conninfo_from_url(admin_url)
    if secret_arn:
        if secretsmanager is None:
            raise ProvisionerError(
                _REASON,
                "DB_SECRET_ARN is set but no Secrets Manager client was given to read it; "
                "set DB_ADMIN_URL instead, or build the provisioners with a client",
            )
        return conninfo_from_rds_secret(fetch_secret_string(secretsmanager, secret_arn), host=host)
    raise ProvisionerError(
        _REASON, "no database admin credentials: set DB_ADMIN_URL, or DB_SECRET_ARN and DB_HOST"
    )
