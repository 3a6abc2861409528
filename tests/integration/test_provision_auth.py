"""The auth provisioner against a real Keycloak 26 (tools/devstack): the realm answers OIDC
discovery, the client's secret authenticates it, providers follow the list, a second ensure
writes nothing (admin API requests counted), a deleted realm, client or provider comes back,
ensures of many realms run at once, drop."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from keycloak import KeycloakAdmin

from controller.provisioners.auth import (
    SECRET_DIGEST_KEY,
    AdminCredentials,
    KeycloakProvisioner,
)
from controller.provisioners.interfaces import AuthCredentials, ProvisionerError
from devstack import Keycloak
from plattr.naming import Target

pytestmark = [pytest.mark.stack, pytest.mark.slow]

GITHUB_SECRET = "github-secret-" + uuid.uuid4().hex
GOOGLE_SECRET = "google-secret-" + uuid.uuid4().hex
PROVIDERS_SECRET = {
    "github.clientId": "plattr-github",
    "github.clientSecret": GITHUB_SECRET,
    "google.clientId": "plattr-google.apps.googleusercontent.com",
    "google.clientSecret": GOOGLE_SECRET,
}


def _provisioner(
    keycloak: Keycloak, providers: dict[str, str] | None = None
) -> KeycloakProvisioner:
    return KeycloakProvisioner.from_settings(
        url=keycloak.url,
        credentials=AdminCredentials(keycloak.admin_user, keycloak.admin_password),
        identity_providers=PROVIDERS_SECRET if providers is None else providers,
    )


@pytest.fixture
def provisioner(keycloak: Keycloak) -> KeycloakProvisioner:
    return _provisioner(keycloak)


@pytest.fixture
def target(provisioner: KeycloakProvisioner) -> Iterator[Target]:
    made = Target(f"shop-{uuid.uuid4().hex[:6]}", "staging")
    yield made
    provisioner.drop(made)


def _redirects(target: Target) -> list[str]:
    host = target.host("apps.example.test")
    return [f"https://{host}/*", "http://localhost:3000/auth/callback"]


@pytest.fixture
def credentials(provisioner: KeycloakProvisioner, target: Target) -> AuthCredentials:
    credentials, changed = provisioner.ensure(target, ["github", "google"], _redirects(target))
    assert changed is True
    return credentials


def _ensure(provisioner: KeycloakProvisioner, target: Target) -> tuple[AuthCredentials, bool, Any]:
    """Ensure with both providers: the credentials, whether anything changed, and the admin
    requests it took."""
    before = provisioner.calls.snapshot()
    credentials, changed = provisioner.ensure(target, ["github", "google"], _redirects(target))
    return credentials, changed, provisioner.calls.snapshot() - before


def _introspect(credentials: AuthCredentials, secret: str) -> httpx.Response:
    """Token introspection: an endpoint only an authenticated client may call."""
    return httpx.post(
        f"{credentials.issuer_url}/protocol/openid-connect/token/introspect",
        data={"token": "not-a-token"},
        auth=(credentials.client_id, secret),
        timeout=10,
    )


def _realm_admin(keycloak: Keycloak, realm: str) -> Any:
    """An admin client of `realm`, logged in to the master realm."""
    return KeycloakAdmin(
        server_url=keycloak.url,
        username=keycloak.admin_user,
        password=keycloak.admin_password,
        realm_name=realm,
        user_realm_name="master",
    )


def test_discovery_document_names_the_issuer(
    keycloak: Keycloak, credentials: AuthCredentials, target: Target
) -> None:
    assert credentials.issuer_url == f"{keycloak.url}/realms/{target.realm}"
    assert credentials.client_id == target.client_id
    answer = httpx.get(f"{credentials.issuer_url}/.well-known/openid-configuration", timeout=10)
    assert answer.status_code == 200
    assert answer.json()["issuer"] == credentials.issuer_url


def test_client_secret_authenticates_the_client(credentials: AuthCredentials) -> None:
    right = _introspect(credentials, credentials.client_secret)
    wrong = _introspect(credentials, "not-the-secret")
    assert (right.status_code, right.json()) == (200, {"active": False})
    assert wrong.status_code == 401


def test_client_is_confidential_with_the_redirect_uris(
    keycloak: Keycloak, credentials: AuthCredentials, target: Target
) -> None:
    admin = _realm_admin(keycloak, target.realm)
    (client,) = (c for c in admin.get_clients() if c["clientId"] == target.client_id)
    assert client["publicClient"] is False
    assert client["standardFlowEnabled"] is True
    assert client["directAccessGrantsEnabled"] is False
    assert sorted(client["redirectUris"]) == sorted(_redirects(target))
    assert sorted(client["webOrigins"]) == sorted(
        [f"https://{target.host('apps.example.test')}", "http://localhost:3000"]
    )
    assert admin.get_client_secrets(client["id"])["value"] == credentials.client_secret


def test_identity_providers_follow_the_list(
    keycloak: Keycloak,
    provisioner: KeycloakProvisioner,
    credentials: AuthCredentials,
    target: Target,
) -> None:
    admin = _realm_admin(keycloak, target.realm)
    idps = {idp["alias"]: idp for idp in admin.get_idps()}
    assert sorted(idps) == ["github", "google"]
    assert idps["github"]["providerId"] == "github"
    assert idps["github"]["config"]["clientId"] == "plattr-github"
    assert GITHUB_SECRET not in str(idps)  # Keycloak masks it; the digest does not reveal it

    _, changed = provisioner.ensure(target, ["github"], _redirects(target))

    assert changed is True
    assert [idp["alias"] for idp in admin.get_idps()] == ["github"]


def test_rotated_provider_secret_is_updated(
    keycloak: Keycloak, credentials: AuthCredentials, target: Target
) -> None:
    admin = _realm_admin(keycloak, target.realm)
    before = {i["alias"]: i["config"][SECRET_DIGEST_KEY] for i in admin.get_idps()}
    rotated = _provisioner(keycloak, PROVIDERS_SECRET | {"github.clientSecret": "rotated"})

    _, changed = rotated.ensure(target, ["github", "google"], _redirects(target))

    after = {i["alias"]: i["config"][SECRET_DIGEST_KEY] for i in admin.get_idps()}
    assert changed is True
    assert after["github"] != before["github"]
    assert after["google"] == before["google"]


def test_second_ensure_writes_nothing(
    provisioner: KeycloakProvisioner, credentials: AuthCredentials, target: Target
) -> None:
    again, changed, calls = _ensure(provisioner, target)

    assert changed is False
    assert again == credentials
    assert calls.writes == 0
    assert calls.reads == 3  # realm, identity providers, the client (with its secret)


def test_a_new_realm_is_one_request(
    provisioner: KeycloakProvisioner, target: Target, keycloak: Keycloak
) -> None:
    credentials, changed, calls = _ensure(provisioner, target)

    assert changed is True
    assert (calls.reads, calls.writes) == (1, 1)  # realm not found; the whole realm created
    assert _introspect(credentials, credentials.client_secret).status_code == 200
    admin = _realm_admin(keycloak, target.realm)
    assert sorted(idp["alias"] for idp in admin.get_idps()) == ["github", "google"]


def test_changed_redirect_uris_are_updated(
    keycloak: Keycloak,
    provisioner: KeycloakProvisioner,
    credentials: AuthCredentials,
    target: Target,
) -> None:
    moved = [f"https://{target.host('apps.example.test')}/callback"]
    again, changed = provisioner.ensure(target, ["github", "google"], moved)
    assert changed is True
    assert again == credentials  # same client, same secret
    (client,) = (
        c
        for c in _realm_admin(keycloak, target.realm).get_clients()
        if c["clientId"] == target.client_id
    )
    assert client["redirectUris"] == moved


def _delete_realm(admin: Any, target: Target) -> None:
    admin.delete_realm(target.realm)


def _delete_client(admin: Any, target: Target) -> None:
    admin.delete_client(admin.get_client_id(target.client_id))


def _delete_provider(admin: Any, _: Target) -> None:
    admin.delete_idp("google")


def _disable_realm(admin: Any, target: Target) -> None:
    admin.update_realm(target.realm, {"enabled": False})


@pytest.mark.parametrize(
    "case",
    [
        (_delete_realm, True),
        (_delete_client, True),
        (_delete_provider, False),
        (_disable_realm, False),
    ],
    ids=["deleted realm", "deleted client", "deleted provider", "disabled realm"],
)
def test_drift_is_corrected(
    keycloak: Keycloak,
    provisioner: KeycloakProvisioner,
    credentials: AuthCredentials,
    target: Target,
    case: tuple[Callable[[Any, Target], None], bool],
) -> None:
    drift, new_secret = case
    admin = _realm_admin(keycloak, target.realm)
    drift(admin, target)

    again, changed, _ = _ensure(provisioner, target)

    assert changed is True
    assert again.issuer_url == credentials.issuer_url
    assert (again.client_secret != credentials.client_secret) is new_secret  # a new client's
    assert _introspect(again, again.client_secret).status_code == 200
    assert admin.get_realm(target.realm)["enabled"] is True
    assert sorted(idp["alias"] for idp in admin.get_idps()) == ["github", "google"]


def test_many_realms_at_once(keycloak: Keycloak) -> None:
    """More ensures than the concurrency allows, from more threads: each realm is whole."""
    provisioner = KeycloakProvisioner.from_settings(
        url=keycloak.url,
        credentials=AdminCredentials(keycloak.admin_user, keycloak.admin_password),
        identity_providers=PROVIDERS_SECRET,
        concurrency=2,
    )
    targets = [Target(f"many-{uuid.uuid4().hex[:6]}", "staging") for _ in range(5)]
    try:
        with ThreadPoolExecutor(5) as pool:
            made = list(
                pool.map(lambda t: provisioner.ensure(t, ["github"], _redirects(t)), targets)
            )
        for (credentials, changed), target in zip(made, targets, strict=True):
            assert changed is True
            assert credentials.client_id == target.client_id
            assert _introspect(credentials, credentials.client_secret).status_code == 200
    finally:
        for target in targets:
            provisioner.drop(target)


def test_drop_deletes_the_realm(
    provisioner: KeycloakProvisioner, credentials: AuthCredentials, target: Target
) -> None:
    assert provisioner.drop(target) is True
    assert provisioner.drop(target) is False
    answer = httpx.get(f"{credentials.issuer_url}/.well-known/openid-configuration", timeout=10)
    assert answer.status_code == 404


def test_provider_without_credentials_names_the_keys_to_add(
    provisioner: KeycloakProvisioner, target: Target
) -> None:
    with pytest.raises(ProvisionerError) as caught:
        provisioner.ensure(target, ["gitlab"], _redirects(target))
    assert caught.value.reason == "IdentityProviderNotConfigured"
    assert "gitlab.clientId and gitlab.clientSecret" in str(caught.value)
    assert "plattr-system/plattr-identity-providers" in str(caught.value)


def test_no_secret_in_logs(
    provisioner: KeycloakProvisioner, target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        credentials, _ = provisioner.ensure(target, ["github", "google"], _redirects(target))
    text = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (credentials.client_secret, GITHUB_SECRET, GOOGLE_SECRET):
        assert secret not in text


def test_wrong_admin_password_is_reported_without_it(keycloak: Keycloak, target: Target) -> None:
    wrong = "wrong-" + uuid.uuid4().hex
    provisioner = KeycloakProvisioner.from_settings(
        url=keycloak.url, credentials=AdminCredentials(keycloak.admin_user, wrong)
    )
    with pytest.raises(ProvisionerError) as caught:
        provisioner.ensure(target, [], _redirects(target))
    assert caught.value.reason == "AuthError"
    assert "KEYCLOAK_ADMIN_PASSWORD" in str(caught.value)
    assert wrong not in str(caught.value)


def test_unreachable_keycloak_is_reported(target: Target) -> None:
    provisioner = KeycloakProvisioner.from_settings(
        url="http://127.0.0.1:1", credentials=AdminCredentials("admin", "irrelevant")
    )
    with pytest.raises(ProvisionerError) as caught:
        provisioner.drop(target)
    assert caught.value.reason == "AuthUnreachable"
    assert "http://127.0.0.1:1" in str(caught.value)
