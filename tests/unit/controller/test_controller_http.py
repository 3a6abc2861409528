"""The HTTP app: health, readiness and the metrics controller/README.md lists, in
Prometheus' text format."""

from __future__ import annotations

from fastapi.testclient import TestClient

from controller.config import DashboardSettings
from controller.machinery.cache import ObjectCache
from controller.metrics import Metrics, resource_of
from controller.provisioners.counting import CallCounter
from controller.runtime import ControllerView
from controller.web import create_app


def client(*, ready: bool) -> tuple[TestClient, Metrics]:
    metrics = Metrics()
    view = ControllerView(
        cache=ObjectCache(),
        metrics=metrics,
        ready=lambda: ready,
        healthy=lambda: True,
        leading=lambda: False,
        base_domain="apps.example.com",
    )
    return TestClient(create_app(view, DashboardSettings())), metrics


def test_health_and_readiness() -> None:
    http, _ = client(ready=False)
    assert http.get("/healthz").status_code == 200
    answer = http.get("/readyz")
    assert (answer.status_code, answer.json()) == (503, {"ready": False, "leader": False})
    http, _ = client(ready=True)
    assert http.get("/readyz").status_code == 200


def test_metrics_carry_the_documented_names_and_labels() -> None:
    http, metrics = client(ready=True)
    metrics.set_phase("shop", "staging", "Running")
    metrics.reconcile_total.labels("shop", "success").inc()
    text = http.get("/metrics").text
    assert 'application_phase{name="shop",namespace="staging",phase="Running"} 1.0' in text
    assert 'application_phase{name="shop",namespace="staging",phase="Failed"} 0.0' in text
    assert 'reconcile_total{name="shop",result="success"} 1.0' in text
    for name in ("reconcile_duration_seconds", "workqueue_depth", "provisioner_errors_total"):
        assert name in text


def test_a_deleted_app_leaves_the_phase_gauge() -> None:
    http, metrics = client(ready=True)
    metrics.set_phase("shop", "staging", "Running")
    metrics.forget_application("shop", "staging")
    assert 'name="shop"' not in http.get("/metrics").text


def test_api_paths_map_to_resources() -> None:
    assert resource_of("/api/v1/namespaces/staging/secrets/shop-db") == "secrets"
    assert resource_of("/api/v1/namespaces/preview-x") == "namespaces"
    assert (
        resource_of("/apis/platform.internal/v1alpha1/namespaces/s/applications/a/status")
        == "applications/status"
    )
    assert resource_of("/apis/apps/v1/deployments") == "deployments"
    assert resource_of("/apis/coordination.k8s.io/v1/namespaces/p/leases/l") == "leases"


def test_provisioner_call_counts_are_exported() -> None:
    http, metrics = client(ready=True)
    counter = CallCounter()
    counter.record(write=True)
    counter.record(write=False)
    counter.record(write=False)
    metrics.count_provisioner_calls({"database": counter})
    text = http.get("/metrics").text
    assert 'provisioner_calls_total{access="write",provisioner="database"} 1.0' in text
    assert 'provisioner_calls_total{access="read",provisioner="database"} 2.0' in text


def test_throttled_answers_are_counted_per_service_the_api_servers_too() -> None:
    http, metrics = client(ready=True)
    storage, auth = CallCounter(), CallCounter()
    storage.throttle()
    auth.throttle()
    auth.throttle()
    metrics.count_provisioner_calls({"storage": storage, "auth": auth})
    metrics.kube_throttling.throttle()
    text = http.get("/metrics").text
    assert 'external_throttled_total{service="aws"} 1.0' in text
    assert 'external_throttled_total{service="keycloak"} 2.0' in text
    assert 'external_throttled_total{service="kubernetes"} 1.0' in text
