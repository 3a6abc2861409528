"""The auth provisioner: a Keycloak realm per app and environment, its identity providers
and one confidential OIDC client for the app.

`ensure` reads the realm, its identity providers, its clients and the client's secret, then
writes only what differs, so a no-op ensure makes four GETs and nothing else. Plattr owns
these realms: identity providers not asked for are removed. Keycloak masks provider secrets
when read back, so each provider carries a digest of its secret (`plattrSecretDigest`) to
tell a rotated secret from an unchanged one without ever comparing the secret itself.

python-keycloak addresses one realm at a time (`change_current_realm`), so calls are
serialised by a lock; each ensure is a handful of requests.

The admin credentials are read on every call (from a Secret, in a cluster): while they are
missing each call fails with `AuthCredentialsMissing`, naming the Secret and how to create
it; once they are there (or change) the provisioner logs in with them, without a restart.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from keycloak import KeycloakAdmin
from keycloak.exceptions import KeycloakConnectionError, KeycloakError

from controller.provisioners.counting import CallCounter
from controller.provisioners.identity_providers import credentials_for
from controller.provisioners.interfaces import AuthCredentials, ProvisionerError
from controller.provisioners.redact import redact
from plattr.models import IdentityProvider
from plattr.naming import Target

log = logging.getLogger(__name__)

ADMIN_REALM: Final = "master"
TIMEOUT_SECONDS: Final = 10
SECRET_DIGEST_KEY: Final = "plattrSecretDigest"  # noqa: S105 - a config key name
CREDENTIALS_MISSING: Final = "AuthCredentialsMissing"
ProviderSecret = Mapping[str, str]


@dataclass(frozen=True)
class AdminCredentials:
    """Who the provisioner logs in to Keycloak's admin API as."""

    username: str
    password: str = field(repr=False)


AdminSecret = AdminCredentials | Callable[[], AdminCredentials]
"""The credentials, or what reads them on each call (raising `ProvisionerError`)."""


def admin_credentials(
    data: Mapping[str, str] | None, secret: str, default_user: str | None = None
) -> AdminCredentials:
    """The credentials in the decoded data of Secret `secret` (`namespace/name`; None: no such
    Secret): keys `username` (else `default_user`) and `password`."""
    namespace, _, name = secret.partition("/")
    create = (
        f"kubectl -n {namespace} create secret generic {name} "
        "--from-literal=username=<admin user> --from-literal=password=<its password>"
    )
    if data is None:
        raise ProvisionerError(
            CREDENTIALS_MISSING,
            f"Keycloak's admin credentials are missing: there is no Secret {secret} "
            f"(KEYCLOAK_ADMIN_SECRET); create it with `{create}`; the controller reads it "
            "when it appears, no restart needed",
        )
    username = data.get("username", "").strip() or default_user or ""
    password = data.get("password", "")
    if missing := [
        key for key, value in (("username", username), ("password", password)) if not value
    ]:
        raise ProvisionerError(
            CREDENTIALS_MISSING,
            f"Secret {secret} (KEYCLOAK_ADMIN_SECRET) has no {' and no '.join(missing)}; "
            f"recreate it with `{create}`",
        )
    return AdminCredentials(username, password)


def issuer_url(keycloak_url: str, realm: str) -> str:
    return f"{keycloak_url.rstrip('/')}/realms/{realm}"


def web_origins(redirect_uris: Sequence[str]) -> list[str]:
    """The origins (scheme://host[:port]) of the redirect URIs, for CORS."""
    origins = {f"{p.scheme}://{p.netloc}" for p in map(urlsplit, redirect_uris) if p.netloc}
    return sorted(origins)


def client_representation(target: Target, redirect_uris: Sequence[str]) -> dict[str, Any]:
    """The app's OIDC client: confidential, authorization-code flow only."""
    return {
        "clientId": target.client_id,
        "name": target.client_id,
        "enabled": True,
        "protocol": "openid-connect",
        "publicClient": False,
        "clientAuthenticatorType": "client-secret",
        "standardFlowEnabled": True,
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "serviceAccountsEnabled": False,
        "redirectUris": sorted(redirect_uris),
        "webOrigins": web_origins(redirect_uris),
    }


def provider_representation(alias: str, client_id: str, client_secret: str) -> dict[str, Any]:
    return {
        "alias": alias,
        "providerId": alias,
        "enabled": True,
        "config": {
            "clientId": client_id,
            "clientSecret": client_secret,
            SECRET_DIGEST_KEY: _digest(alias, client_secret),
        },
    }


class KeycloakProvisioner:
    """`AuthProvisioner` on Keycloak's admin REST API (python-keycloak). `calls` counts
    admin API requests: GET as reads, POST/PUT/DELETE as writes (token requests apart)."""

    def __init__(
        self,
        connect: Callable[[AdminCredentials], Any],
        credentials: AdminSecret,
        *,
        keycloak_url: str,
        identity_providers: ProviderSecret | Callable[[], ProviderSecret] = {},  # noqa: B006
    ) -> None:
        self._connect = connect
        self._credentials = credentials
        self._admin: Any = None
        self._logged_in_as: AdminCredentials | None = None
        self._url = keycloak_url.rstrip("/")
        self._providers = identity_providers
        self._lock = threading.Lock()
        self.calls = CallCounter()

    @classmethod
    def from_settings(
        cls,
        *,
        url: str,
        credentials: AdminSecret,
        admin_realm: str = ADMIN_REALM,
        identity_providers: ProviderSecret | Callable[[], ProviderSecret] = {},  # noqa: B006
    ) -> KeycloakProvisioner:
        """Logs in lazily, on the first call (the controller starts even if Keycloak is down
        or its credentials are not there yet)."""

        def connect(admin: AdminCredentials) -> KeycloakAdmin:
            return KeycloakAdmin(
                server_url=url,
                username=admin.username,
                password=admin.password,
                realm_name=admin_realm,
                user_realm_name=admin_realm,
                timeout=TIMEOUT_SECONDS,
            )

        return cls(connect, credentials, keycloak_url=url, identity_providers=identity_providers)

    def _login(self) -> AdminCredentials:
        """The current credentials; a new admin client when they changed (call under the lock)."""
        credentials = self._credentials() if callable(self._credentials) else self._credentials
        if credentials != self._logged_in_as:
            self._admin = self._connect(credentials)
            session = self._admin.connection._s  # python-keycloak's requests.Session
            session.hooks["response"].append(self._count)
            self._logged_in_as = credentials
        return credentials

    def _count(self, response: Any, *_: Any, **__: Any) -> None:
        self.calls.record(write=response.request.method != "GET")

    # --- the interface ------------------------------------------------------------------

    def ensure(
        self,
        target: Target,
        providers: Sequence[IdentityProvider],
        redirect_uris: Sequence[str],
    ) -> tuple[AuthCredentials, bool]:
        secret = self._providers() if callable(self._providers) else self._providers
        wanted = [provider_representation(p, *credentials_for(secret, p)) for p in providers]
        hidden = [p["config"]["clientSecret"] for p in wanted]
        with self._realm(target, "ensure", hidden):
            changed = self._ensure_realm(target.realm)
            changed |= self._ensure_providers(wanted)
            client_uuid, client_changed = self._ensure_client(
                client_representation(target, redirect_uris)
            )
            client_secret = str(self._admin.get_client_secrets(client_uuid).get("value", ""))
        if changed or client_changed:
            log.info("auth: realm %s provisioned", target.realm)
        credentials = AuthCredentials(
            issuer_url(self._url, target.realm), target.client_id, client_secret
        )
        return credentials, changed or client_changed

    def drop(self, target: Target) -> bool:
        with self._realm(target, "drop", []):
            if self._get_realm(target.realm) is None:
                return False
            self._admin.delete_realm(target.realm)
        log.info("auth: realm %s deleted", target.realm)
        return True

    # --- the parts ----------------------------------------------------------------------

    def _get_realm(self, realm: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self._admin.get_realm(realm)
        except KeycloakError as exc:
            if exc.response_code == 404:
                return None
            raise
        return found

    def _ensure_realm(self, realm: str) -> bool:
        found = self._get_realm(realm)
        if found is None:
            # skip_exists: python-keycloak retries a POST after a read timeout, and the retry
            # of a create that did succeed answers 409; the realm exists, as wanted.
            self._admin.create_realm({"realm": realm, "enabled": True}, skip_exists=True)
            return True
        if not found.get("enabled"):
            self._admin.update_realm(realm, {"enabled": True})
            return True
        return False

    def _ensure_providers(self, wanted: list[dict[str, Any]]) -> bool:
        current = {idp["alias"]: idp for idp in self._admin.get_idps()}
        changed = False
        for idp in wanted:
            found = current.pop(idp["alias"], None)
            if found is None:
                self._admin.create_idp(idp)
                changed = True
            elif not _provider_matches(found, idp):
                self._admin.update_idp(idp["alias"], {**found, **idp})
                changed = True
        for alias in current:  # not asked for (any more)
            self._admin.delete_idp(alias)
            changed = True
        return changed

    def _ensure_client(self, wanted: dict[str, Any]) -> tuple[str, bool]:
        found = next(
            (c for c in self._admin.get_clients() if c.get("clientId") == wanted["clientId"]),
            None,
        )
        if found is None:
            return str(self._admin.create_client(wanted)), True
        if _differs(found, wanted):
            self._admin.update_client(found["id"], {**found, **wanted})
            return str(found["id"]), True
        return str(found["id"]), False

    @contextmanager
    def _realm(self, target: Target, action: str, hidden: Sequence[str]) -> Iterator[None]:
        """Work in the target's realm, one caller at a time; errors become ProvisionerErrors
        that name Keycloak, the realm and the fix, never a secret."""
        with self._lock:
            secrets = (self._login().password, *hidden)
            self._admin.change_current_realm(target.realm)
            try:
                yield
            except KeycloakConnectionError as exc:
                raise ProvisionerError(
                    "AuthUnreachable",
                    redact(
                        f"cannot reach Keycloak at {self._url} to {action} realm "
                        f"{target.realm}: {exc.error_message!s}; check KEYCLOAK_URL and that "
                        "Keycloak is up",
                        *secrets,
                    ),
                ) from None
            except KeycloakError as exc:
                fix = (
                    "check the admin credentials (the Secret KEYCLOAK_ADMIN_SECRET names, or "
                    "KEYCLOAK_ADMIN_USER/KEYCLOAK_ADMIN_PASSWORD) and that the user has the "
                    "admin role in the master realm"
                    if exc.response_code in (401, 403)
                    else "see Keycloak's log for the cause"
                )
                raise ProvisionerError(
                    "AuthError",
                    redact(
                        f"Keycloak refused to {action} realm {target.realm}: "
                        f"{exc.response_code}: {_message(exc)}; {fix}",
                        *secrets,
                    ),
                ) from None


def _provider_matches(found: dict[str, Any], wanted: dict[str, Any]) -> bool:
    config, want = found.get("config", {}), wanted["config"]
    return (
        found.get("providerId") == wanted["providerId"]
        and found.get("enabled") is True
        and config.get("clientId") == want["clientId"]
        and config.get(SECRET_DIGEST_KEY) == want[SECRET_DIGEST_KEY]
    )


def _differs(found: dict[str, Any], wanted: dict[str, Any]) -> bool:
    def norm(value: Any) -> Any:
        return sorted(value) if isinstance(value, list) else value

    return any(norm(found.get(key)) != norm(value) for key, value in wanted.items())


def _digest(alias: str, secret: str) -> str:
    """Tells secrets apart without revealing one: a salted, truncated SHA-256."""
    return hashlib.sha256(f"plattr:{alias}:{secret}".encode()).hexdigest()[:16]


def _message(exc: KeycloakError) -> str:
    message = exc.error_message
    text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
    return text.strip()[:300]
