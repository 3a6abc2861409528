"""What every rendered workload gets (docs/workloads.md): replicas per environment, topology
spread, PodDisruptionBudget, and liveness apart from readiness."""

from __future__ import annotations

from typing import Any, Final

import msgspec
import pytest

from plattr.environments import parse
from plattr.frameworks import DEFAULTS
from plattr.models import Application
from plattr.validation import decode
from renderer.options import PreviewParams, RenderOptions
from tests.support.render_helpers import OPTIONS, container, example_doc, only, render_by_kind

Rendered = dict[str, list[dict[str, Any]]]
PREVIEW: Final = msgspec.structs.replace(OPTIONS, preview=PreviewParams(7, head_sha="abcdef1"))


def app(**spec: Any) -> Application:
    """The example app without `scaling`, in production, changed by `spec`."""
    document = example_doc()
    del document["spec"]["scaling"]
    document["spec"].update(spec)
    return decode(document, Application)


def rendered(options: RenderOptions = OPTIONS, **spec: Any) -> Rendered:
    return render_by_kind(app(**spec), options)


def pod(by_kind: Rendered) -> dict[str, Any]:
    pod_spec: dict[str, Any] = only(by_kind, "Deployment")["spec"]["template"]["spec"]
    return pod_spec


def replicas(by_kind: Rendered) -> int:
    count: int = only(by_kind, "Deployment")["spec"]["replicas"]
    return count


# --- replicas per environment ----------------------------------------------------------


def test_production_without_scaling_runs_two_replicas_with_a_pdb_and_spread() -> None:
    by_kind = rendered(environment="production")
    assert replicas(by_kind) == 2
    assert "PodDisruptionBudget" in by_kind
    assert "topologySpreadConstraints" in pod(by_kind)
    assert "HorizontalPodAutoscaler" not in by_kind


@pytest.mark.parametrize("environment", ["staging", "uat"])
def test_staging_and_uat_without_scaling_run_one_replica_without_pdb_or_spread(
    environment: str,
) -> None:
    by_kind = rendered(environment=environment)
    assert replicas(by_kind) == 1
    assert "PodDisruptionBudget" not in by_kind
    assert "topologySpreadConstraints" not in pod(by_kind)


def test_the_declared_environments_minimum_applies() -> None:
    declaration = parse(
        {"environments": [{"name": "production", "defaults": {"minReplicas": 3}}]}, "test"
    )
    options = msgspec.structs.replace(OPTIONS, environments=declaration)
    assert replicas(rendered(options)) == 3


def test_scaling_without_min_autoscales_from_the_environments_minimum() -> None:
    hpa = only(rendered(scaling={"max": 5}), "HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 5)


def test_scaling_without_max_runs_min_replicas() -> None:
    by_kind = rendered(environment="staging", scaling={"min": 3})
    assert replicas(by_kind) == 3
    assert "HorizontalPodAutoscaler" not in by_kind


def test_an_explicit_max_below_the_environments_minimum_wins() -> None:
    by_kind = rendered(scaling={"max": 1})
    assert replicas(by_kind) == 1
    assert "PodDisruptionBudget" not in by_kind
    assert "topologySpreadConstraints" not in pod(by_kind)


def test_the_applied_application_keeps_the_spec_as_written() -> None:
    spec = only(rendered(), "Application")["spec"]
    assert "scaling" not in spec


def test_a_preview_runs_one_replica_without_pdb_spread_or_hpa() -> None:
    by_kind = rendered(PREVIEW, environment="staging", scaling={"min": 3, "max": 10})
    assert replicas(by_kind) == 1
    assert {"PodDisruptionBudget", "HorizontalPodAutoscaler"}.isdisjoint(by_kind)
    assert "topologySpreadConstraints" not in pod(by_kind)


# --- topology spread and PodDisruptionBudget ------------------------------------------


@pytest.mark.parametrize(
    "scaling", [{"min": 1, "max": 3}, {"min": 2, "max": 2}], ids=["may-scale-out", "fixed-two"]
)
def test_spread_over_zones_then_nodes_when_more_than_one_replica_may_run(
    scaling: dict[str, int],
) -> None:
    by_kind = rendered(environment="staging", scaling=scaling)
    selector = only(by_kind, "Deployment")["spec"]["selector"]["matchLabels"]
    constraints = pod(by_kind)["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in constraints] == [
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    ]
    for constraint in constraints:
        assert constraint["maxSkew"] == 1
        assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"
        assert constraint["labelSelector"] == {"matchLabels": selector}
        assert constraint["matchLabelKeys"] == ["pod-template-hash"]


def test_a_single_replica_app_gets_no_spread() -> None:
    assert "topologySpreadConstraints" not in pod(rendered(scaling={"min": 1, "max": 1}))


def test_pdb_lets_unhealthy_pods_be_evicted_and_only_when_two_always_run() -> None:
    pdb = only(rendered(scaling={"min": 2, "max": 6}), "PodDisruptionBudget")["spec"]
    assert pdb["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert pdb["maxUnavailable"] == 1
    assert "PodDisruptionBudget" not in rendered(scaling={"min": 1, "max": 6})


# --- probes ----------------------------------------------------------------------------


@pytest.mark.parametrize("framework", sorted(DEFAULTS))
def test_liveness_differs_from_readiness_for_every_framework(framework: str) -> None:
    probes = container(only(rendered(framework=framework), "Deployment"), "app")
    readiness, liveness = probes["readinessProbe"], probes["livenessProbe"]
    assert liveness != readiness
    assert (liveness["periodSeconds"], liveness["failureThreshold"]) == (20, 6)
    assert liveness["periodSeconds"] * liveness["failureThreshold"] > (
        readiness["periodSeconds"] * readiness["failureThreshold"]
    )
    own_endpoint = DEFAULTS[framework].liveness_path  # type: ignore[index]
    if own_endpoint is None:
        assert liveness["tcpSocket"] == {"port": "http"}
    else:
        assert liveness["httpGet"] == {"path": own_endpoint, "port": "http"}


@pytest.mark.parametrize("framework", sorted(DEFAULTS))
def test_a_startup_probe_only_where_the_framework_starts_slowly(framework: str) -> None:
    app_container = container(only(rendered(framework=framework), "Deployment"), "app")
    assert ("startupProbe" in app_container) is (framework == "java")


def test_java_gets_five_minutes_to_start_on_its_liveness_endpoint() -> None:
    startup = container(only(rendered(framework="java"), "Deployment"), "app")["startupProbe"]
    assert startup["httpGet"] == {"path": "/actuator/health/liveness", "port": "http"}
    assert startup["periodSeconds"] * startup["failureThreshold"] == 300


def test_the_specs_own_probes_win() -> None:
    probes = {
        "readiness": {"path": "/ready"},
        "liveness": {"path": "/alive", "periodSeconds": 30},
        "startup": {"type": "tcp", "failureThreshold": 30},
    }
    app_container = container(only(rendered(framework="go", probes=probes), "Deployment"), "app")
    assert app_container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert app_container["livenessProbe"]["httpGet"]["path"] == "/alive"
    assert app_container["livenessProbe"]["periodSeconds"] == 30
    assert app_container["startupProbe"]["tcpSocket"] == {"port": "http"}


def test_the_postgrest_sidecar_liveness_is_its_own_endpoint_checked_slowly() -> None:
    sidecar = container(only(rendered(), "Deployment"), "postgrest")
    assert sidecar["readinessProbe"]["httpGet"]["path"] == "/ready"
    liveness = sidecar["livenessProbe"]
    assert liveness["httpGet"]["path"] == "/live"
    assert (liveness["periodSeconds"], liveness["failureThreshold"]) == (20, 6)
