"""The provisioners' contracts. The reconciler depends on these, never on psycopg, boto3 or
python-keycloak directly, so each real implementation can be replaced (and counted) alone.

Every `ensure` is idempotent and level-triggered: it reads the current state first and
writes only what differs, returning whether it wrote anything (`changed`), so a no-op
reconcile makes zero writes. Every method raises `ProvisionerError` (with a message fit for
a status condition: which dependency, what failed, no secret) on failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from controller.errors import ControllerError
from plattr.models import Bucket, IdentityProvider
from plattr.naming import Target


class ProvisionerError(ControllerError):
    """A dependency failed. `reason` is a CamelCase condition reason, e.g. `DatabaseUnreachable`.

    Reasons the real provisioners use: `DatabaseUnreachable`, `DatabaseError`;
    `StorageUnreachable`, `StorageError`, `StorageNotConfigured` (no OIDC provider);
    `AuthUnreachable`, `AuthError`, `IdentityProviderNotConfigured` (a provider's keys are
    missing from the platform's Secret). `*Unreachable` is worth retrying as is; the others
    name what to fix.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class DatabaseEndpoint(NamedTuple):
    host: str
    port: int
    dbname: str


class DatabaseProvisioner(Protocol):
    def endpoint(self) -> DatabaseEndpoint:
        """Where apps connect (goes into the `<instance>-db` Secret)."""
        ...

    def ensure(self, target: Target, password: str, *, reset_password: bool) -> bool:
        """Schema `target.schema`, login role `target.login_role` (LOGIN, the password,
        `search_path` = its schema), role `target.anon_role` (NOLOGIN, USAGE on that schema
        only, granted to the login role so PostgREST can switch to it), privileges revoked
        from PUBLIC, no access to other schemas. The password is set when the role is
        created or `reset_password` is true (the Secret was lost). True if anything changed.
        """
        ...

    def drop(self, target: Target) -> bool:
        """Drop the schema (cascade) and both roles. True if anything existed."""
        ...


class BucketDropResult(NamedTuple):
    deleted: list[str]
    non_empty: list[str]
    """Buckets left in place because they hold objects and emptying was not allowed."""


class StorageProvisioner(Protocol):
    def ensure(self, target: Target, buckets: Sequence[Bucket]) -> tuple[dict[str, str], bool]:
        """Every bucket (real name from `target.bucket(prefix, name)`), private ones with
        the public access block on, public ones with a read-only policy (set after the block
        is relaxed), tags naming app and environment; the IAM role `target.iam_role_name`
        trusted by the cluster's OIDC provider for the app's ServiceAccount only, with a
        policy scoped to these buckets. Returns (logical name → real name, changed)."""
        ...

    def drop(
        self, target: Target, buckets: Sequence[str], *, empty_first: bool
    ) -> BucketDropResult:
        """Delete the buckets (emptying them first only when `empty_first`) and the IAM role.
        A bucket that holds objects without `empty_first` is left and listed in `non_empty`;
        the role goes either way. Buckets already gone are in neither list."""
        ...


class AuthCredentials(NamedTuple):
    issuer_url: str
    client_id: str
    client_secret: str


class AuthProvisioner(Protocol):
    def ensure(
        self,
        target: Target,
        providers: Sequence[IdentityProvider],
        redirect_uris: Sequence[str],
    ) -> tuple[AuthCredentials, bool]:
        """Realm `target.realm`, the identity providers (credentials from the platform's
        provider Secret; providers not listed are removed), a confidential OIDC client
        `target.client_id` with these redirect URIs and their origins as web origins.
        Returns the client's credentials and whether anything changed."""
        ...

    def drop(self, target: Target) -> bool:
        """Delete the realm. True if it existed."""
        ...
