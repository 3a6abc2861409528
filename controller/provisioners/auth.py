"""The auth provisioner: a Keycloak realm per app and environment, its identity providers
and one confidential OIDC client for the app.

Creating a realm is most of Keycloak's work (its default roles, clients, scopes, flows and
keys; seconds on a busy machine), so a missing realm is created in one request: a realm
representation with the client (and a client secret Plattr generates) and the identity
providers embedded; nothing is read back. An existing realm is read in three GETs (the
realm, its identity providers, the app's client by clientId, which carries its secret) and
only what differs is written, so a no-op ensure writes nothing. Plattr owns these realms:
identity providers not asked for are removed. Keycloak masks provider secrets when read
back, so each provider carries a digest of its secret (`plattrSecretDigest`) to tell a
rotated secret from an unchanged one without ever comparing the secret itself.

Every request names its realm in its path, so ensures of different realms run in parallel,
at most `concurrency` at a time (KEYCLOAK_CONCURRENCY), on one admin token that is renewed
once, under a lock, when it nears its expiry.

Keycloak answering 429 or 503 (too busy) is retried below the provisioner, by the HTTP
session itself: up to `THROTTLE_RETRIES` times, after the Retry-After it asks for (at most
`MAX_RETRY_AFTER_SECONDS`) or a short backoff; each such answer is counted (`calls.throttled`).
An app's reconcile retries are spent only when that is not enough.

The admin credentials are read at the start of every call (from a Secret, in a cluster):
while they are missing each call fails with `AuthCredentialsMissing`, naming the Secret and
how to create it; once they are there (or change) the provisioner logs in with them, without
a restart.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import quote, urlsplit

from keycloak import KeycloakAdmin
from keycloak.exceptions import KeycloakConnectionError, KeycloakError
from urllib3 import BaseHTTPResponse
from urllib3.connectionpool import ConnectionPool
from urllib3.util.retry import Retry

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
DEFAULT_CONCURRENCY: Final = 2  # KEYCLOAK_CONCURRENCY; docs/figures.md has the measurements
TOKEN_MARGIN: Final = timedelta(seconds=10)  # renew the admin token this long before expiry
NOT_FOUND: Final = 404
CONFLICT: Final = 409
CREDENTIALS_MISSING: Final = "AuthCredentialsMissing"
THROTTLED: Final = frozenset({429, 503})
THROTTLE_RETRIES: Final = 4
MAX_RETRY_AFTER_SECONDS: Final = 10.0
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


def throttle_retry(counter: CallCounter) -> Retry:
    """urllib3's retry policy for the admin session: python-keycloak's own (one retry after a
    dropped connection, POST included), plus up to `THROTTLE_RETRIES` retries of a 429 or
    503, each counted in `counter`, honouring Retry-After up to `MAX_RETRY_AFTER_SECONDS`."""

    class CountingRetry(Retry):
        def increment(
            self,
            method: str | None = None,
            url: str | None = None,
            response: BaseHTTPResponse | None = None,
            error: Exception | None = None,
            _pool: ConnectionPool | None = None,
            _stacktrace: TracebackType | None = None,
        ) -> Self:
            if response is not None and response.status in THROTTLED:
                counter.throttle()
            return super().increment(method, url, response, error, _pool, _stacktrace)

        def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
            seconds = super().get_retry_after(response)
            return None if seconds is None else min(seconds, MAX_RETRY_AFTER_SECONDS)

    return CountingRetry(
        total=None,
        connect=1,
        read=1,
        other=0,
        status=THROTTLE_RETRIES,
        status_forcelist=THROTTLED,
        allowed_methods=None,  # every verb: a throttled request was not carried out
        backoff_factor=0.25,  # 0, 0.5, 1, 2 s without a Retry-After
        respect_retry_after_header=True,
        raise_on_status=False,  # the last 429/503 itself, for the error message
    )


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


def realm_representation(
    realm: str, client: dict[str, Any], providers: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """The whole realm in one representation: Keycloak creates it in one request."""
    return {
        "realm": realm,
        "enabled": True,
        "clients": [client],
        "identityProviders": list(providers),
    }


def realm_path(realm: str) -> str:
    return f"admin/realms/{quote(realm)}"


def new_client_secret() -> str:
    """A client secret as strong as the 32 characters Keycloak would generate."""
    return secrets.token_urlsafe(32)


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
    """`AuthProvisioner` on Keycloak's admin REST API (python-keycloak's connection: the
    admin token, its renewal, the HTTP session). `connect` makes python-keycloak's admin
    client for a set of credentials; `credentials` are those credentials, or what reads them.
    `calls` counts admin API requests: GET as reads, POST/PUT/DELETE as writes (token
    requests apart)."""

    def __init__(
        self,
        connect: Callable[[AdminCredentials], Any],
        credentials: AdminSecret,
        *,
        keycloak_url: str,
        identity_providers: ProviderSecret | Callable[[], ProviderSecret] = {},  # noqa: B006
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._connect = connect
        self._credentials = credentials
        self._connection: Any = None
        self._logged_in_as: AdminCredentials | None = None
        self._url = keycloak_url.rstrip("/")
        self._providers = identity_providers
        self._slots = threading.BoundedSemaphore(concurrency)
        self._token_lock = threading.Lock()
        self.calls = CallCounter()

    @classmethod
    def from_settings(
        cls,
        *,
        url: str,
        credentials: AdminSecret,
        admin_realm: str = ADMIN_REALM,
        identity_providers: ProviderSecret | Callable[[], ProviderSecret] = {},  # noqa: B006
        concurrency: int = DEFAULT_CONCURRENCY,
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
                pool_maxsize=concurrency,
            )

        return cls(
            connect,
            credentials,
            keycloak_url=url,
            identity_providers=identity_providers,
            concurrency=concurrency,
        )

    def _login(self) -> AdminCredentials:
        """The current credentials; a new connection (logged in on its first request) when
        they changed."""
        credentials = self._credentials() if callable(self._credentials) else self._credentials
        with self._token_lock:
            if credentials != self._logged_in_as:
                self._connection = self._connect(credentials).connection
                session = self._connection._s  # python-keycloak's requests.Session
                session.hooks["response"].append(self._count)
                token_session = self._connection.keycloak_openid.connection._s
                for adapter in [*session.adapters.values(), *token_session.adapters.values()]:
                    adapter.max_retries = throttle_retry(self.calls)
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
        client = client_representation(target, redirect_uris)
        with self._session(target, "ensure", hidden):
            realm = self._get(realm_path(target.realm))
            if realm is None:
                client_secret = new_client_secret()
                representation = realm_representation(
                    target.realm, {**client, "secret": client_secret}, wanted
                )
                _check(self._request("POST", "admin/realms", representation), CONFLICT)
                changed = True
            else:
                changed = self._ensure_enabled(realm)
                changed |= self._ensure_providers(target.realm, wanted)
                client_secret, client_changed = self._ensure_client(target.realm, client)
                changed |= client_changed
        if changed:
            log.info("auth: realm %s provisioned", target.realm)
        credentials = AuthCredentials(
            issuer_url(self._url, target.realm), target.client_id, client_secret
        )
        return credentials, changed

    def drop(self, target: Target) -> bool:
        with self._session(target, "drop", []):
            response = self._request("DELETE", realm_path(target.realm))
            if response.status_code == NOT_FOUND:
                return False
            _check(response)
        log.info("auth: realm %s deleted", target.realm)
        return True

    # --- the parts ----------------------------------------------------------------------

    def _ensure_enabled(self, realm: dict[str, Any]) -> bool:
        if realm.get("enabled"):
            return False
        self._put(realm_path(realm["realm"]), {"enabled": True})
        return True

    def _ensure_providers(self, realm: str, wanted: list[dict[str, Any]]) -> bool:
        path = f"{realm_path(realm)}/identity-provider/instances"
        current = {idp["alias"]: idp for idp in self._get(path) or []}
        changed = False
        for idp in wanted:
            found = current.pop(idp["alias"], None)
            if found is None:
                self._post(path, idp)
                changed = True
            elif not _provider_matches(found, idp):
                self._put(f"{path}/{quote(idp['alias'])}", {**found, **idp})
                changed = True
        for alias in current:  # not asked for (any more)
            self._delete(f"{path}/{quote(alias)}")
            changed = True
        return changed

    def _ensure_client(self, realm: str, wanted: dict[str, Any]) -> tuple[str, bool]:
        """The client's secret, and whether anything was written."""
        path = f"{realm_path(realm)}/clients"
        found = next(iter(self._get(path, clientId=wanted["clientId"]) or []), None)
        if found is None:
            secret = new_client_secret()
            self._post(path, {**wanted, "secret": secret})
            return secret, True
        if _differs(found, wanted):
            self._put(f"{path}/{found['id']}", {**found, **wanted})
            return str(found.get("secret", "")), True
        return str(found.get("secret", "")), False

    # --- HTTP ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None, **query: str) -> Any:
        """One admin request on the shared, renewed token (python-keycloak's raw calls)."""
        connection = self._authorised()
        if method == "GET":
            return connection.raw_get(path, **query)
        if method == "DELETE":
            return connection.raw_delete(path)
        send = connection.raw_post if method == "POST" else connection.raw_put
        return send(path, json.dumps(body))

    def _get(self, path: str, **query: str) -> Any:
        """The decoded answer, or None if Keycloak has no such thing (404)."""
        response = self._request("GET", path, **query)
        return None if response.status_code == NOT_FOUND else _check(response)

    def _post(self, path: str, body: Any) -> None:
        _check(self._request("POST", path, body))

    def _put(self, path: str, body: Any) -> None:
        _check(self._request("PUT", path, body))

    def _delete(self, path: str) -> None:
        _check(self._request("DELETE", path))

    def _authorised(self) -> Any:
        """The connection, logged in, its token renewed shortly before it expires: once, for
        every thread."""
        with self._token_lock:
            connection = self._connection
            if connection.token is None:
                connection.get_token()
            elif connection.expires_at is not None and connection.expires_at <= (
                datetime.now(tz=UTC) + TOKEN_MARGIN
            ):
                connection.refresh_token()
            return connection

    @contextmanager
    def _session(self, target: Target, action: str, hidden: Sequence[str]) -> Iterator[None]:
        """Work on the target's realm, at most `concurrency` callers at a time, as the current
        admin credentials (`AuthCredentialsMissing` while there are none); errors become
        ProvisionerErrors that name Keycloak, the realm and the fix, never a secret."""
        with self._slots:
            secrets_ = (self._login().password, *hidden)
            try:
                yield
            except KeycloakConnectionError as exc:
                raise ProvisionerError(
                    "AuthUnreachable",
                    redact(
                        f"cannot reach Keycloak at {self._url} to {action} realm "
                        f"{target.realm}: {exc.error_message!s}; check KEYCLOAK_URL and that "
                        "Keycloak is up",
                        *secrets_,
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
                        *secrets_,
                    ),
                ) from None


def _check(response: Any, *also: int) -> Any:
    """The decoded answer of a successful request (or one answering a code of `also`: a
    realm's create accepts 409, since python-keycloak retries a POST after a read timeout and
    the retry of a create that did succeed answers 409); KeycloakError otherwise."""
    if response.status_code not in (200, 201, 204, *also):
        raise KeycloakError(
            error_message=response.text,
            response_code=response.status_code,
            response_body=response.content,
        )
    return response.json() if response.status_code == 200 else None


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
