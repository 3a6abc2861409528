"""Keys of the Secrets and ConfigMap the controller writes and apps read (via envFrom).

`<instance>-db` (Secret), `<instance>-storage` (ConfigMap: bucket names are not secret),
`<instance>-auth` (Secret). Names come from `plattr.naming.Target.secret_name`
and `Target.config_map_name`.
"""

from typing import Final

DATABASE_URL: Final = "DATABASE_URL"
PGHOST: Final = "PGHOST"
PGPORT: Final = "PGPORT"
PGDATABASE: Final = "PGDATABASE"
PGUSER: Final = "PGUSER"
PGPASSWORD: Final = "PGPASSWORD"
DATABASE_KEYS: Final = (DATABASE_URL, PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD)

OIDC_ISSUER_URL: Final = "OIDC_ISSUER_URL"
OIDC_CLIENT_ID: Final = "OIDC_CLIENT_ID"
OIDC_CLIENT_SECRET: Final = "OIDC_CLIENT_SECRET"  # noqa: S105 - a key name, not a secret
AUTH_KEYS: Final = (OIDC_ISSUER_URL, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET)

STORAGE_REGION: Final = "AWS_REGION"


def bucket_key(logical_name: str) -> str:
    """ConfigMap key of a bucket: `uploads` → `BUCKET_UPLOADS`, `raw-data` → `BUCKET_RAW_DATA`."""
    return "BUCKET_" + logical_name.upper().replace("-", "_")
