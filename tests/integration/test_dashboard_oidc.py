"""DASHBOARD_AUTH=oidc against the stack's real Keycloak: a person is sent to Keycloak, signs
in with a password and comes back with a session; API clients pass with a Keycloak access
token and not without; a forged state or session is refused; no secret is ever echoed."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from benchmarks.dashboard_samples import application, put
from controller.config import DashboardSettings
from controller.machinery.cache import ObjectCache
from controller.web.app import install
from controller.web.oidc import SESSION_COOKIE
from devstack import Keycloak
from devstack.ports import free_port
from tests.support.dashboard_app import FakeEvents, serve_app, view_of

pytestmark = [pytest.mark.stack, pytest.mark.slow]

CLIENT_SECRET = "dash-client-" + uuid.uuid4().hex
PASSWORD = "pw-" + uuid.uuid4().hex
FORM_ACTION = re.compile(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"')


@pytest.fixture(scope="module")
def realm(keycloak: Keycloak) -> Iterator[tuple[str, str]]:
    """A realm with the dashboard's confidential client and one person; (issuer, port)."""
    name = f"dash-{uuid.uuid4().hex[:6]}"
    port = free_port()
    admin = keycloak.admin()
    admin.create_realm({"realm": name, "enabled": True})
    admin.change_current_realm(name)
    admin.create_client(
        {
            "clientId": "plattr-dashboard",
            "secret": CLIENT_SECRET,
            "publicClient": False,
            "standardFlowEnabled": True,
            "directAccessGrantsEnabled": True,  # the test's API client gets a token this way
            "redirectUris": [f"http://127.0.0.1:{port}/oauth/callback"],
        }
    )
    admin.create_user(
        {
            "username": "ada",
            "email": "ada@example.test",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "emailVerified": True,
            "enabled": True,
            "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}],
        }
    )
    admin.change_current_realm("master")
    try:
        yield f"{keycloak.url}/realms/{name}", str(port)
    finally:
        admin.delete_realm(name)


@pytest.fixture(scope="module")
def dashboard(realm: tuple[str, str]) -> Iterator[str]:
    issuer, port = realm
    cache = ObjectCache()
    put(cache, application("shop", "staging"))
    settings = DashboardSettings(
        auth="oidc",
        url=f"http://127.0.0.1:{port}",
        oidc_issuer=issuer,
        oidc_client_id="plattr-dashboard",
        oidc_client_secret=CLIENT_SECRET,
    )
    app = FastAPI()
    install(app, view_of(cache), settings, FakeEvents())
    with serve_app(app, int(port)) as url:
        yield url


def sign_in(browser: httpx.Client, dashboard: str, password: str) -> httpx.Response:
    """What a browser does: dashboard -> /login -> Keycloak's form -> back to the dashboard."""
    answer = browser.get(f"{dashboard}/", headers={"accept": "text/html"})
    assert (answer.status_code, answer.headers["location"]) == (303, "/login")
    to_keycloak = browser.get(f"{dashboard}/login")
    assert to_keycloak.status_code == 303
    form = browser.get(to_keycloak.headers["location"])
    match = FORM_ACTION.search(form.text)
    assert match, form.text[:500]
    # Keycloak's login cookies are Secure; browsers send them to http://127.0.0.1 (a secure
    # context), httpx's jar does not, so they go by hand.
    cookies = "; ".join(f"{name}={value}" for name, value in form.cookies.items())
    return browser.post(
        html.unescape(match.group(1)),
        data={"username": "ada", "password": password},
        headers={"cookie": cookies},
    )


def test_a_person_signs_in_at_keycloak_and_reads_the_board(dashboard: str) -> None:
    with httpx.Client(timeout=30) as browser:
        back = sign_in(browser, dashboard, PASSWORD)
        assert back.status_code == 302
        assert back.headers["location"].startswith(f"{dashboard}/oauth/callback?")
        session = browser.get(back.headers["location"])
        assert (session.status_code, session.headers["location"]) == (303, "/")
        assert SESSION_COOKIE in session.cookies
        board = browser.get(f"{dashboard}/", headers={"accept": "text/html"})
        assert board.status_code == 200
        assert "card-Application-staging-shop" in board.text
        assert browser.get(f"{dashboard}/api/v1/applications").status_code == 200
        for text in (board.text, session.text):
            assert CLIENT_SECRET not in text
            assert PASSWORD not in text


def test_a_wrong_password_never_gets_a_session(dashboard: str) -> None:
    with httpx.Client(timeout=30) as browser:
        refused = sign_in(browser, dashboard, "not-the-password")
        assert refused.status_code == 200  # Keycloak shows its form again
        assert SESSION_COOKIE not in browser.cookies
        assert browser.get(f"{dashboard}/api/v1/applications").status_code == 401


def test_a_forged_state_or_session_is_refused(dashboard: str) -> None:
    with httpx.Client(timeout=30) as browser:
        browser.get(f"{dashboard}/login")  # a state cookie for another state
        forged = browser.get(f"{dashboard}/oauth/callback", params={"code": "x", "state": "y"})
        assert forged.status_code == 401
        assert "sign in again" in forged.json()["message"]
        browser.cookies.set(SESSION_COOKIE, "eyJ1c2VyIjoiZXZlIn0.forged")
        assert browser.get(f"{dashboard}/api/v1/applications").status_code == 401


def test_api_clients_pass_with_a_keycloak_access_token(
    dashboard: str, realm: tuple[str, str]
) -> None:
    issuer, _ = realm
    token: Any = httpx.post(
        f"{issuer}/protocol/openid-connect/token",
        data={"grant_type": "password", "username": "ada", "password": PASSWORD, "scope": "openid"},
        auth=("plattr-dashboard", CLIENT_SECRET),
        timeout=30,
    ).json()["access_token"]
    api = f"{dashboard}/api/v1/applications"
    assert httpx.get(api, headers={"authorization": f"Bearer {token}"}).status_code == 200
    refused = httpx.get(api, headers={"authorization": "Bearer not-a-token"})
    assert refused.status_code == 401
    assert "sign in" in refused.json()["message"]
    assert httpx.get(api).status_code == 401
