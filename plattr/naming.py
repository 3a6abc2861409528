"""Every name Plattr derives, in one place, used by the renderer and the controller alike.

A `Target` is an app in one environment: a declared one (`plattr.environments`), or a
preview `pr-<n>`. From it come the namespace, host, Postgres schema and roles, Secret names, bucket
names, IAM role and Keycloak realm. Names over their limit are cut and given a stable hash
suffix, so the same input always gives the same, valid, name.
"""

from __future__ import annotations

import re
from typing import Final, Literal, NamedTuple, get_args

PREVIEW_PREFIX: Final = "pr-"
PREVIEW_NAMESPACE_PREFIX: Final = "preview-"
PREVIEW_HOST_ZONE: Final = "preview"
DEFAULT_HOST_PATTERN: Final = "{app}.{env}.{domain}"
BUILTIN_ENVIRONMENTS: Final = ("production", "staging", "uat")
"""The environments Plattr always had; names built from them keep their historical form."""

DNS_LABEL_MAX: Final = 63
POSTGRES_IDENTIFIER_MAX: Final = 63
ANON_SUFFIX: Final = "_anon"
S3_BUCKET_MAX: Final = 63
IAM_ROLE_MAX: Final = 64
IAM_ROLE_PREFIX: Final = "plattr-"
HASH_LENGTH: Final = 8
OWN_NAME_SEPARATOR: Final = "."
"""An app team's own Secrets, ConfigMaps and claims are named `<app>.<anything>`. App names
are DNS-1035 labels and hold no dot, so the prefix belongs to exactly one app (a dash would
not do: `orders-` would also cover `orders-api-db`, the database of an app `orders-api`)."""

SecretKind = Literal["db", "auth", "tls"]
"""The app's Secrets: `db` and `auth` (the controller writes them), `tls` (cert-manager's,
for the Ingress)."""
ConfigMapKind = Literal["storage"]
"""The app's ConfigMaps: `storage` (the controller writes it: bucket names are not secret)."""

_NOT_SQL: Final = re.compile(r"[^a-z0-9_]")
_NOT_BUCKET: Final = re.compile(r"[^a-z0-9-]")
_ENVIRONMENT_SEGMENT: Final = re.compile(r"(^|-)(production|staging|uat|pr-[0-9]+)(-|$)")


def shorten(name: str, limit: int, separator: str = "-", *, identity: str | None = None) -> str:
    """`name` if it fits in `limit` characters, else a prefix plus a stable hash of it.

    With `identity` (what the name stands for, when the name alone could stand for two
    things) the hash of `identity` is always appended.
    """
    if len(name) <= limit and identity is None:
        return name
    import hashlib  # only long names pay for it; the render hot path rarely does

    digest = hashlib.sha256((identity or name).encode()).hexdigest()[:HASH_LENGTH]
    head = name[: limit - HASH_LENGTH - len(separator)].rstrip("-_.")
    return f"{head}{separator}{digest}"


class Target(NamedTuple):
    """One app in one environment (a declared one, see `plattr.environments`, or `pr-<n>`).

    `env_namespace` and `host_pattern` come from the environment's declaration
    (`Environment.target` fills them in); a preview computes its own."""

    app: str
    env: str
    env_namespace: str = ""
    host_pattern: str = DEFAULT_HOST_PATTERN

    @classmethod
    def preview(cls, app: str, pull_request: int) -> Target:
        return cls(app, f"{PREVIEW_PREFIX}{pull_request}")

    @property
    def is_preview(self) -> bool:
        return self.env.startswith(PREVIEW_PREFIX)

    @property
    def instance(self) -> str:
        """Name of the workload objects: the app, or `<app>-pr-<n>` for a preview."""
        if self.is_preview:
            return shorten(f"{self.app}-{self.env}", DNS_LABEL_MAX, identity=self._identity)
        return self.app

    @property
    def namespace(self) -> str:
        if self.is_preview:
            return shorten(f"{PREVIEW_NAMESPACE_PREFIX}{self.app}-{self.env}", DNS_LABEL_MAX)
        return self.env_namespace or self.env

    def host(self, base_domain: str) -> str:
        if self.is_preview:
            return f"{self.instance}.{PREVIEW_HOST_ZONE}.{base_domain}"
        return self.host_pattern.format(app=self.app, env=self.env, domain=base_domain)

    @property
    def _identity(self) -> str | None:
        """What the hash of an app's schema, realm and role names stands for when `<app>-<env>`
        alone could stand for two targets: an environment with a '-' in its name (app `a-eu`
        in `production` and app `a` in `eu-production` would meet). None otherwise, so the
        names of the usual environments keep their plain form."""
        if self.is_preview or "-" not in self.env:
            return None
        return f"{self.app}\n{self.env}"

    def secret_name(self, kind: SecretKind) -> str:
        """Name of the app's Secret of `kind`: `<instance>-<kind>`."""
        return shorten(f"{self.instance}-{kind}", DNS_LABEL_MAX)

    def config_map_name(self, kind: ConfigMapKind) -> str:
        """Name of the app's ConfigMap of `kind`: `<instance>-<kind>`."""
        return shorten(f"{self.instance}-{kind}", DNS_LABEL_MAX)

    @property
    def secret_names(self) -> tuple[str, ...]:
        """Every Secret the platform makes for this instance."""
        return tuple(self.secret_name(kind) for kind in get_args(SecretKind))

    @property
    def config_map_names(self) -> tuple[str, ...]:
        """Every ConfigMap the platform makes for this instance."""
        return tuple(self.config_map_name(kind) for kind in get_args(ConfigMapKind))

    @property
    def own_name_prefix(self) -> str:
        """`<app>.`: what starts the names of the Secrets, ConfigMaps and claims an app team
        makes for its app (the same in every environment and preview of the app)."""
        return f"{self.app}{OWN_NAME_SEPARATOR}"

    # --- Postgres ---------------------------------------------------------------------

    @property
    def schema(self) -> str:
        """Schema and login role: `<app>_<env>`, short enough to take the `_anon` suffix."""
        raw = _NOT_SQL.sub("_", f"{self.app}_{self.env}".lower())
        return shorten(
            raw, POSTGRES_IDENTIFIER_MAX - len(ANON_SUFFIX), "_", identity=self._identity
        )

    @property
    def login_role(self) -> str:
        return self.schema

    @property
    def anon_role(self) -> str:
        return f"{self.schema}{ANON_SUFFIX}"

    # --- S3 and IAM -------------------------------------------------------------------

    def bucket(self, prefix: str, logical_name: str) -> str:
        """A globally unique, S3-legal name for one of the app's buckets.

        `<prefix>-<app>-<env>-<bucket>` reads well but is ambiguous when the app or bucket
        name holds an environment as a segment (`a` + `x-uat-b` in staging and
        `a-staging-x` + `b` in uat would meet), so such names always get the hash suffix, and
        so do the names of every environment beyond the built-in three (whose names the app's
        and bucket's could hold as segments: the set of environments is the platform team's).
        """
        raw = _NOT_BUCKET.sub("-", f"{prefix}-{self.app}-{self.env}-{logical_name}".lower())
        ambiguous = (self.env not in BUILTIN_ENVIRONMENTS and not self.is_preview) or any(
            _ENVIRONMENT_SEGMENT.search(part) for part in (self.app, logical_name)
        )
        identity = "\n".join((prefix, self.app, self.env, logical_name)) if ambiguous else None
        return shorten(raw, S3_BUCKET_MAX, identity=identity)

    @property
    def iam_role_name(self) -> str:
        return shorten(
            f"{IAM_ROLE_PREFIX}{self.app}-{self.env}", IAM_ROLE_MAX, identity=self._identity
        )

    def iam_role_arn(self, account_id: str) -> str:
        return f"arn:aws:iam::{account_id}:role/{self.iam_role_name}"

    # --- Keycloak ---------------------------------------------------------------------

    @property
    def realm(self) -> str:
        return shorten(f"{self.app}-{self.env}", DNS_LABEL_MAX, identity=self._identity)

    @property
    def client_id(self) -> str:
        return self.instance
