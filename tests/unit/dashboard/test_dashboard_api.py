"""The JSON API over an in-memory cache: lists and filters, detail, previews, errors as JSON
with a message, the published schema, and no Secret value anywhere."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from benchmarks.dashboard_samples import application, preview, put
from controller.config import DashboardSettings
from controller.kinds import SECRET
from controller.machinery.cache import ObjectCache
from controller.machinery.objects import ObjectKey
from controller.web import create_app
from plattr.api import DEFAULT_PAGE_LIMIT, EventOut
from tests.support.dashboard_app import FakeEvents, client, view_of

PASSWORD = "pw-Zq81-never-shown"


@pytest.fixture
def cache() -> ObjectCache:
    cache = ObjectCache()
    put(cache, application("shop", "production", secrets=("shop-db", "shop-auth")))
    put(cache, application("shop", "staging", "Failed"))
    put(cache, application("blog", "uat", "Provisioning"))
    put(cache, preview("shop", 42))
    secret = {
        "metadata": {"name": "shop-db", "namespace": "production", "resourceVersion": "9"},
        "data": {"PGPASSWORD": base64.b64encode(PASSWORD.encode()).decode()},
    }
    cache.put(ObjectKey(SECRET.name, "production", "shop-db"), secret)
    return cache


def names(body: dict[str, list[dict[str, str]]]) -> list[tuple[str, str]]:
    return [(item["name"], item["environment"]) for item in body["items"]]


def test_list_sorted_by_app_then_environment(cache: ObjectCache) -> None:
    body = client(cache).get("/api/v1/applications").json()
    assert names(body) == [("blog", "uat"), ("shop", "production"), ("shop", "staging")]
    shop = body["items"][1]
    assert shop["url"] == "https://shop.apps.example.com"
    assert shop["argocdUrl"] == "https://argocd.example.com/applications/argocd/production-shop"
    assert shop["failing"] == []


def test_the_list_follows_every_change_made_after_it_was_built(cache: ObjectCache) -> None:
    api = client(cache)
    assert api.get("/api/v1/applications").status_code == 200
    put(cache, application("shop", "staging", "Running"))
    put(cache, application("app", "production", "Failed"))
    cache.remove(ObjectKey("Application", "uat", "blog"))
    body = api.get("/api/v1/applications").json()
    assert names(body) == [("app", "production"), ("shop", "production"), ("shop", "staging")]
    assert [item["phase"] for item in body["items"]] == ["Failed", "Running", "Running"]


def test_a_long_list_comes_in_pages_each_app_once(cache: ObjectCache) -> None:
    for n in range(DEFAULT_PAGE_LIMIT):
        put(cache, application(f"app-{n:04d}", "staging", "Failed" if n % 2 else "Running"))
    api = client(cache)
    first = api.get("/api/v1/applications").json()
    assert len(first["items"]) == DEFAULT_PAGE_LIMIT
    assert first["continue"]
    second = api.get("/api/v1/applications", params={"continue": first["continue"]}).json()
    assert names(second) == [("blog", "uat"), ("shop", "production"), ("shop", "staging")]
    assert second["continue"] is None
    everything = api.get("/api/v1/applications?limit=0").json()
    assert everything["items"] == first["items"] + second["items"]
    assert everything["continue"] is None
    # filters first, then the page; the token carries the place, the query the filters
    failed, query = [], {"phase": "Failed", "limit": "100"}
    while True:
        body = api.get("/api/v1/applications", params=query).json()
        failed += names(body)
        if body["continue"] is None:
            break
        query = {**query, "continue": body["continue"]}
    expected = [(f"app-{n:04d}", "staging") for n in range(1, DEFAULT_PAGE_LIMIT, 2)]
    assert failed == [*expected, ("shop", "staging")]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("environment=staging", [("shop", "staging")]),
        ("phase=Provisioning", [("blog", "uat")]),
        ("text=SHO", [("shop", "production"), ("shop", "staging")]),
        ("text=team/blog", [("blog", "uat")]),
        ("phase=Running&environment=uat", []),
    ],
)
def test_filters(cache: ObjectCache, query: str, expected: list[tuple[str, str]]) -> None:
    assert names(client(cache).get(f"/api/v1/applications?{query}").json()) == expected


def test_failing_conditions_carry_reason_and_message(cache: ObjectCache) -> None:
    body = client(cache).get("/api/v1/applications?phase=Failed").json()
    [failing] = body["items"][0]["failing"]
    assert failing["type"] == "DatabaseReady"
    assert failing["reason"] == "DatabaseUnreachable"
    assert "connection refused" in failing["message"]


def test_detail_has_conditions_secret_names_and_events(cache: ObjectCache) -> None:
    events = FakeEvents(
        [EventOut(type="Normal", reason="PhaseRunning", message="phase -> Running")]
    )
    answer = client(cache, events=events).get("/api/v1/applications/production/shop")
    assert answer.status_code == 200
    body = answer.json()
    assert body["summary"]["phase"] == "Running"
    assert [c["type"] for c in body["conditions"]] == [
        "DatabaseReady",
        "StorageReady",
        "AuthReady",
        "DeploymentReady",
    ]
    assert body["secrets"] == ["shop-auth", "shop-db"]
    assert body["spec"]["buckets"] == ["uploads"]
    assert body["events"][0]["reason"] == "PhaseRunning"
    assert events.asked == [ObjectKey("Application", "production", "shop")]


@pytest.mark.parametrize(("environment", "replicas"), [("production", 2), ("staging", 1)])
def test_detail_shows_the_replicas_the_environment_gives_an_app_without_scaling(
    cache: ObjectCache, environment: str, replicas: int
) -> None:
    app = application("lean", environment)
    del app["spec"]["scaling"]
    put(cache, app)
    spec = client(cache).get(f"/api/v1/applications/{environment}/lean").json()["spec"]
    assert (spec["replicasMin"], spec["replicasMax"]) == (replicas, replicas)


def test_detail_answers_when_events_are_unavailable(cache: ObjectCache) -> None:
    body = client(cache, events=FakeEvents(unavailable=True)).get(
        "/api/v1/applications/production/shop"
    )
    assert body.status_code == 200
    assert body.json()["events"] == []
    assert "did not list the Events" in body.json()["eventsError"]


def test_previews_have_pull_request_and_time_left(cache: ObjectCache) -> None:
    [item] = client(cache).get("/api/v1/previews").json()["items"]
    assert (item["app"], item["pullRequest"]) == ("shop", 42)
    assert item["url"] == "https://shop-pr-42.preview.apps.example.com"
    assert item["expiresAt"] == "2026-11-29T09:00:00Z"
    assert item["argocdUrl"].endswith("/applications/argocd/preview-shop-pr-42")
    assert item["timeLeft"]
    assert item["secondsLeft"] is not None


@pytest.mark.parametrize(
    ("path", "status", "fragment"),
    [
        ("/api/v1/applications/production/nope", 404, "no Application nope"),
        ("/api/v1/applications?phase=Sleeping", 422, "phase"),
        ("/api/v1/applications?environment=Moon", 422, "environment"),
        ("/api/v1/applications?limit=-1", 422, "limit"),
        ("/api/v1/applications?continue=nonsense", 422, "continue"),
        ("/api/v1/nothing", 404, "Not Found"),
    ],
)
def test_errors_are_json_with_a_message(
    cache: ObjectCache, path: str, status: int, fragment: str
) -> None:
    answer = client(cache).get(path)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    assert fragment in answer.json()["message"]


def test_the_declared_environments_in_order_and_an_undeclared_one_matches_nothing(
    cache: ObjectCache,
) -> None:
    api = client(cache)
    listed = api.get("/api/v1/environments").json()["items"]
    assert [(e["name"], e["namespace"], e["sync"], e["previews"]) for e in listed] == [
        ("production", "production", "manual", False),
        ("staging", "staging", "automatic", True),
        ("uat", "uat", "automatic", True),
    ]
    none = api.get("/api/v1/applications?environment=moon").json()
    assert none == {"items": [], "continue": None}


def test_openapi_schema_is_published(cache: ObjectCache) -> None:
    schema = client(cache).get("/openapi.json").json()
    assert {
        "/api/v1/applications",
        "/api/v1/applications/{namespace}/{name}",
        "/api/v1/previews",
        "/api/v1/stream",
    } <= set(schema["paths"])
    assert "ErrorOut" in schema["components"]["schemas"]


def test_no_secret_value_in_any_answer(cache: ObjectCache) -> None:
    http = client(cache)
    encoded = base64.b64encode(PASSWORD.encode()).decode()
    for path in (
        "/api/v1/applications",
        "/api/v1/applications/production/shop",
        "/api/v1/previews",
        "/",
        "/apps/production/shop",
        "/cards/apps/production/shop",
    ):
        text = http.get(path).text
        assert PASSWORD not in text, path
        assert encoded not in text, path


def test_only_reads(cache: ObjectCache) -> None:
    http = client(cache)
    for path in ("/api/v1/applications", "/api/v1/applications/production/shop"):
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            assert http.request(method, path).status_code == 405


def test_the_controllers_http_app_serves_the_dashboard(cache: ObjectCache) -> None:
    settings = DashboardSettings.from_env(
        {"DASHBOARD_AUTH": "none", "ARGOCD_URL": "https://argocd.example.org"}
    )
    http = TestClient(create_app(view_of(cache), settings))
    [shop] = http.get("/api/v1/applications?environment=production").json()["items"]
    assert shop["argocdUrl"].startswith("https://argocd.example.org/")
    assert http.get("/healthz").status_code == 200
    assert "card-Application-production-shop" in http.get("/").text
