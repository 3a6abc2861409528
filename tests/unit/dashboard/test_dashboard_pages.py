"""The pages: environments side by side, cards with phase and failing conditions, the detail
view with its history, filters without JavaScript, errors for people."""

from __future__ import annotations

import re

import pytest

from benchmarks.dashboard_samples import application, preview, put
from controller.machinery.cache import ObjectCache
from plattr.api import EventOut
from plattr.environments import parse
from tests.support.dashboard_app import FakeEvents, client


@pytest.fixture
def cache() -> ObjectCache:
    cache = ObjectCache()
    put(cache, application("shop", "production"))
    put(cache, application("shop", "staging", "Failed"))
    put(cache, preview("shop", 42))
    return cache


def test_board_shows_every_environment_and_the_cards(cache: ObjectCache) -> None:
    page = client(cache).get("/", headers={"accept": "text/html"}).text
    for column in ("production", "staging", "uat", "previews"):
        assert f'data-column="{column}"' in page
    assert 'id="card-Application-staging-shop"' in page
    assert "DatabaseUnreachable" in page
    assert "PR #42" in page
    assert 'href="https://shop.apps.example.com"' in page
    assert "/applications/argocd/staging-shop" in page
    assert 'data-stream="/api/v1/stream"' in page


def test_the_columns_follow_the_declaration_and_keep_undeclared_apps_in_sight(
    cache: ObjectCache,
) -> None:
    put(cache, application("api", "qa"))
    put(cache, application("old", "legacy"))
    declared = parse(
        {"environments": [{"name": "qa", "host": "{app}.qa.{domain}"}, {"name": "staging"}]},
        "values.yaml",
    )
    page = client(cache, environments=lambda: declared).get("/").text
    columns = re.findall(r'data-column="([^"]+)"', page)
    assert columns == ["qa", "staging", "legacy", "production", "previews"]
    assert 'href="https://api.qa.apps.example.com"' in page


def test_board_filters_without_javascript(cache: ObjectCache) -> None:
    page = client(cache).get("/?phase=Failed").text
    assert "card-Application-staging-shop" in page
    assert "card-Application-production-shop" not in page


def test_detail_page_has_conditions_and_history(cache: ObjectCache) -> None:
    events = FakeEvents(
        [EventOut(type="Warning", reason="DatabaseUnreachable", message="DatabaseReady is False")]
    )
    page = client(cache, events=events).get("/apps/staging/shop").text
    assert "<h1>shop</h1>" in page
    assert "DatabaseReady" in page
    assert "History" in page
    assert "DatabaseReady is False" in page


def test_preview_detail_page(cache: ObjectCache) -> None:
    page = client(cache).get("/previews/preview-shop-pr-42/shop-pr-42").text
    assert "PR #42" in page


def test_card_fragment_is_empty_when_filtered_out_or_gone(cache: ObjectCache) -> None:
    http = client(cache)
    assert http.get("/cards/apps/staging/shop").status_code == 200
    assert http.get("/cards/apps/staging/shop?phase=Running").status_code == 204
    assert http.get("/cards/apps/staging/gone").status_code == 204


def test_unknown_page_is_a_page_for_people(cache: ObjectCache) -> None:
    answer = client(cache).get("/apps/staging/nope", headers={"accept": "text/html"})
    assert answer.status_code == 404
    assert "text/html" in answer.headers["content-type"]
    assert "no Application nope in namespace staging" in answer.text


def test_static_files(cache: ObjectCache) -> None:
    http = client(cache)
    assert "EventSource" in http.get("/static/live.js").text
    assert http.get("/static/dashboard.css").headers["content-type"].startswith("text/css")
    assert http.get("/static/../models.py").status_code == 404


def test_what_needs_a_look_comes_first_in_a_column() -> None:
    cache = ObjectCache()
    for name, phase in (("alpha", "Running"), ("beta", "Failed"), ("gamma", "Provisioning")):
        put(cache, application(name, "uat", phase))
    page = client(cache).get("/").text
    order = [page.index(f"card-Application-uat-{name}") for name in ("beta", "gamma", "alpha")]
    assert order == sorted(order)
