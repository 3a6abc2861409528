"""DASHBOARD_AUTH=token: nothing without the token, everything with it (header or the login
form's cookie), and the token's value is never echoed."""

from __future__ import annotations

import pytest
from dashboard_app import TOKEN, client, token_settings

from benchmarks.dashboard_samples import application, put
from controller.cache import ObjectCache
from controller.config import ConfigError, DashboardSettings

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
