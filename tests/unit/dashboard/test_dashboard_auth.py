"""DASHBOARD_AUTH=token: nothing without the token, everything with it (header or the login
form's cookie), and the token's value is never echoed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from benchmarks.dashboard_samples import application, put
from controller.config import ConfigError, DashboardSettings
from controller.machinery.cache import ObjectCache
from controller.web.oidc import SESSION_SECONDS, OidcClient
from tests.support.dashboard_app import TOKEN, client, serve_app, token_settings

PATHS = ("/api/v1/applications", "/api/v1/previews", "/api/v1/applications/staging/shop")


@pytest.fixture
def cache() -> ObjectCache:
    cache = ObjectCache()
    put(cache, application("shop", "staging"))
    return cache


def test_api_refuses_without_the_token(cache: ObjectCache) -> None:
    http = client(cache, token_settings())
    for path in (*PATHS, "/api/v1/stream"):
        for headers in ({}, {"authorization": "Bearer wrong-token"}, {"authorization": TOKEN}):
            answer = http.get(path, headers=headers)
            assert answer.status_code == 401, (path, headers)
            assert "sign in" in answer.json()["message"]
            assert answer.headers["www-authenticate"] == "Bearer"
            assert TOKEN not in answer.text


def test_api_answers_with_the_token(cache: ObjectCache) -> None:
    http = client(cache, token_settings())
    for path in PATHS:
        assert http.get(path, headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_page_sends_people_to_the_login_form(cache: ObjectCache) -> None:
    http = client(cache, token_settings())
    answer = http.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/login")
    assert "Sign in" in http.get("/login").text


def test_login_form_sets_the_cookie_and_opens_the_page(cache: ObjectCache) -> None:
    http = client(cache, token_settings())
    refused = http.post("/login", data={"token": "wrong"}, follow_redirects=False)
    assert refused.status_code == 401
    assert "not valid" in refused.text
    answer = http.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert answer.status_code == 303
    assert "httponly" in answer.headers["set-cookie"].lower()
    page = http.get("/", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "card-Application-staging-shop" in page.text
    assert TOKEN not in page.text


def test_settings_refuse_token_mode_without_a_long_token() -> None:
    with pytest.raises(ConfigError, match="DASHBOARD_TOKEN") as caught:
        DashboardSettings.from_env({"DASHBOARD_AUTH": "token", "DASHBOARD_TOKEN": "short"})
    assert "short" not in str(caught.value)
    with pytest.raises(ConfigError, match="DASHBOARD_AUTH"):
        DashboardSettings.from_env({"DASHBOARD_AUTH": "sometimes"})
    settings = DashboardSettings.from_env({"DASHBOARD_AUTH": "token", "DASHBOARD_TOKEN": TOKEN})
    assert TOKEN not in repr(settings)


def test_the_dashboard_is_closed_unless_opened_on_purpose() -> None:
    """No DASHBOARD_AUTH means token: without a token the controller does not start, and the
    message says how to give one, sign in with OIDC, or open it (DASHBOARD_AUTH=none)."""
    with pytest.raises(ConfigError) as caught:
        DashboardSettings.from_env({})
    assert "DASHBOARD_TOKEN" in str(caught.value)
    assert "DASHBOARD_AUTH=none" in str(caught.value)
    assert DashboardSettings.from_env({"DASHBOARD_TOKEN": TOKEN}).auth == "token"
    assert DashboardSettings.from_env({"DASHBOARD_AUTH": "none"}).auth == "none"


def test_sessions_refuse_tampering_and_expire() -> None:
    now = [1000.0]
    oidc = OidcClient(oidc_settings(), clock=lambda: now[0])
    cookie = oidc.session_for("ada")
    assert oidc.session_user(cookie) == "ada"
    body, _, mac = cookie.rpartition(".")
    assert oidc.session_user(f"{body}x.{mac}") is None
    assert oidc.session_user(f"{body}.{mac[:-2]}") is None
    other = OidcClient(replace(oidc_settings(), oidc_client_secret="another-secret"))
    assert other.session_user(cookie) is None
    assert oidc.session_user(None) is None
    now[0] += SESSION_SECONDS + 1
    assert oidc.session_user(cookie) is None


def test_settings_for_oidc_name_what_is_missing_and_hide_the_secret() -> None:
    with pytest.raises(ConfigError, match="DASHBOARD_URL, DASHBOARD_OIDC_ISSUER"):
        DashboardSettings.from_env({"DASHBOARD_AUTH": "oidc"})
    env = {
        "DASHBOARD_AUTH": "oidc",
        "DASHBOARD_URL": "https://plattr.example.com/",
        "DASHBOARD_OIDC_ISSUER": "https://sso.example.com/realms/platform",
        "DASHBOARD_OIDC_CLIENT_ID": "plattr-dashboard",
        "DASHBOARD_OIDC_CLIENT_SECRET": "client-secret-value",
    }
    settings = DashboardSettings.from_env(env)
    assert settings.url == "https://plattr.example.com"
    assert "client-secret-value" not in repr(settings)


@contextmanager
def fake_provider(calls: list[str]) -> Iterator[str]:
    """An OpenID Connect provider that knows one access token; yields its issuer URL."""
    provider = FastAPI()
    issuer = ""

    @provider.get("/realms/platform/.well-known/openid-configuration")
    def discovery() -> dict[str, str]:
        calls.append("discovery")
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/auth",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/userinfo",
        }

    @provider.get("/realms/platform/userinfo")
    def userinfo(request: Request) -> Response:
        calls.append("userinfo")
        if request.headers.get("authorization") == "Bearer good-token":
            return JSONResponse({"sub": "ada"})
        return Response(status_code=401)

    with serve_app(provider) as url:
        issuer = f"{url}/realms/platform"
        yield issuer


def oidc_settings() -> DashboardSettings:
    return DashboardSettings(
        auth="oidc",
        url="https://plattr.example.com",
        oidc_issuer="https://sso.example.com/realms/platform",
        oidc_client_id="plattr-dashboard",
        oidc_client_secret="client-secret-value",
    )


def test_oidc_bearer_tokens_are_checked_at_userinfo_once_a_minute() -> None:
    calls: list[str] = []
    with fake_provider(calls) as issuer:
        oidc = OidcClient(replace(oidc_settings(), oidc_issuer=issuer))
        assert oidc.token_user("good-token") == "ada"
        assert oidc.token_user("good-token") == "ada"
        assert oidc.token_user("bad-token") is None
    assert calls.count("userinfo") == 2


def test_oidc_login_sends_people_to_the_provider_with_a_state(cache: ObjectCache) -> None:
    http = client(cache, oidc_settings())
    page = http.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.headers["location"] == "/login"
    api = http.get("/api/v1/applications")
    assert api.status_code == 401
    assert "client-secret-value" not in api.text
