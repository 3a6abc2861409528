"""The dashboard's API with httpx, served over real HTTP from a real controller's watch cache
on the real stack (API server + kwok nodes, PostgreSQL, moto, Keycloak): a new app streams
in and turns Running, its detail carries conditions, Secret names and the API server's
Events, a standby replica's cache answers the same, and no Secret value the controller wrote
appears in any answer, page or log line."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from controller.kinds import APPLICATION, PLATTR_KINDS
from controller.machinery.cache import ObjectCache
from controller.machinery.kube import Kube
from controller.machinery.reflector import Reflector
from controller.metrics import Metrics
from controller.runtime import ControllerView
from devstack import wait_until
from plattr import secret_keys
from plattr.naming import Target
from tests.support.controller_harness import BASE_DOMAIN, TIMEOUT, Harness, rendered
from tests.support.dashboard_app import dashboard_url

pytestmark = [pytest.mark.stack, pytest.mark.slow]

SECRET_VALUED = (
    secret_keys.PGPASSWORD,
    secret_keys.DATABASE_URL,
    secret_keys.OIDC_CLIENT_SECRET,
)

SPEC = {
    "framework": "python",
    "environment": "staging",
    "imageRef": "registry.example.test/shop:1.0.0",
    "database": {"enabled": True},
    "storage": {"enabled": True, "buckets": [{"name": "uploads"}]},
    "auth": {"enabled": True, "providers": ["github"]},
    "scaling": {"min": 1, "max": 2},
}


@pytest.fixture(scope="module")
def api(harness: Harness, kube_api_client: Any) -> Iterator[httpx.Client]:
    """The dashboard of the leading replica."""
    with (
        dashboard_url(harness.controller.view, kube_api_client) as url,
        httpx.Client(base_url=url, timeout=httpx.Timeout(10, read=TIMEOUT)) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def standby(kube_api_client: Any) -> Iterator[httpx.Client]:
    """The dashboard of a replica that does not lead: only its reflectors fill its cache."""
    cache, stop = ObjectCache(), threading.Event()
    reflectors = [
        Reflector(Kube(kube_api_client), kind, cache, lambda *change: None, watch_seconds=30)
        for kind in PLATTR_KINDS
    ]
    for reflector in reflectors:
        threading.Thread(target=reflector.run, args=(stop,), daemon=True).start()
    view = ControllerView(
        cache=cache,
        metrics=Metrics(),
        ready=lambda: cache.synced(r.scope for r in reflectors),
        healthy=lambda: True,
        leading=lambda: False,
        base_domain=BASE_DOMAIN,
    )
    try:
        with dashboard_url(view, kube_api_client) as url, httpx.Client(base_url=url) as client:
            yield client
    finally:
        stop.set()


def stream_until_running(api: httpx.Client, name: str, created: threading.Event) -> list[str]:
    """The phases the stream reported for `name` until Running (the app is created once the
    stream is open)."""
    phases: list[str] = []
    with api.stream("GET", "/api/v1/stream", params={"name": name}) as events:
        assert events.status_code == 200
        created.set()
        event = ""
        for line in events.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "upsert":
                phases.append(json.loads(line.removeprefix("data: "))["phase"])
                if phases[-1] == "Running":
                    return phases
    return phases


@pytest.fixture(scope="module")
def shop(harness: Harness, api: httpx.Client) -> tuple[Target, list[str]]:
    """A new app, applied once the stream is open; with the phases the stream reported."""
    target = Target(f"dash-{uuid.uuid4().hex[:6]}", "staging")
    opened = threading.Event()
    phases: list[str] = []
    reader = threading.Thread(
        target=lambda: phases.extend(stream_until_running(api, target.app, opened))
    )
    reader.start()
    assert opened.wait(30)
    harness.apply(rendered(SPEC, target.app))
    reader.join(TIMEOUT)
    return target, phases


def test_the_stream_reports_a_new_app_until_it_runs(shop: tuple[Target, list[str]]) -> None:
    _, phases = shop
    assert phases[-1] == "Running"
    assert set(phases) <= {"Pending", "Provisioning", "Running"}


def test_list_and_filters_from_the_cache(api: httpx.Client, shop: tuple[Target, list[str]]) -> None:
    target, _ = shop
    found = api.get(
        "/api/v1/applications", params={"environment": "staging", "text": target.app}
    ).json()["items"]
    assert [(item["name"], item["phase"]) for item in found] == [(target.app, "Running")]
    assert found[0]["url"] == f"https://{target.host(BASE_DOMAIN)}"
    assert found[0]["argocdUrl"] == (
        f"https://argocd.example.test/applications/argocd/staging-{target.app}"
    )
    none = api.get("/api/v1/applications", params={"phase": "Failed", "text": target.app})
    assert none.json()["items"] == []


def test_detail_has_conditions_secret_names_and_events(
    api: httpx.Client, harness: Harness, shop: tuple[Target, list[str]]
) -> None:
    target, _ = shop
    detail = api.get(f"/api/v1/applications/{target.namespace}/{target.app}").json()
    assert {c["type"]: c["status"] for c in detail["conditions"]} == {
        "DatabaseReady": "True",
        "StorageReady": "True",
        "AuthReady": "True",
        "DeploymentReady": "True",
    }
    status = harness.status(APPLICATION, target.namespace, target.app)
    assert detail["secrets"] == status["secrets"]
    assert detail["eventsError"] is None
    assert {"PhasePending", "PhaseRunning"} <= {event["reason"] for event in detail["events"]}
    assert detail["spec"]["authProviders"] == ["github"]


def test_a_standby_replica_answers_the_same(
    api: httpx.Client, standby: httpx.Client, shop: tuple[Target, list[str]]
) -> None:
    target, _ = shop
    params = {"text": target.app}
    wait_until(
        lambda: (
            standby.get("/api/v1/applications", params=params).json()["items"]
            == api.get("/api/v1/applications", params=params).json()["items"]
        ),
        "the standby's list equal to the leader's",
        TIMEOUT,
    )


def test_no_secret_value_in_any_answer_page_or_log(
    api: httpx.Client,
    harness: Harness,
    shop: tuple[Target, list[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    target, _ = shop
    written = {
        key: value
        for name in harness.status(APPLICATION, target.namespace, target.app)["secrets"]
        for key, value in (harness.secret(target.namespace, name) or {}).items()
    }
    values = [written[key] for key in SECRET_VALUED]  # the ids and hosts beside them are public
    caplog.set_level(logging.DEBUG)
    answers = [
        api.get(path).text
        for path in (
            "/api/v1/applications",
            f"/api/v1/applications/{target.namespace}/{target.app}",
            "/api/v1/previews",
            "/",
            f"/apps/{target.namespace}/{target.app}",
            f"/cards/apps/{target.namespace}/{target.app}",
        )
    ]
    logged = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    for value in values:
        assert all(value not in text for text in answers)
        assert value not in logged
