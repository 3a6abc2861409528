"""The controller's Prometheus metrics, in a registry of its own (one per controller, so two
in one test process never collide). Their names and labels are a contract with dashboards and
alerts: controller/README.md lists them; change neither without it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from controller.machinery.kube import WRITE_VERBS
from controller.provisioners.counting import CallCounter
from plattr.models import Phase

PHASES: Final[tuple[Phase, ...]] = get_args(Phase)
SERVICES: Final = {"database": "postgres", "storage": "aws", "auth": "keycloak"}
"""The service behind each provisioner, as `external_throttled_total` labels it (the API
server's 429s are `kubernetes`)."""
KUBERNETES: Final = "kubernetes"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.application_phase = Gauge(
            "application_phase",
            "Current phase of each Application (1 for its phase, 0 for the others)",
            ["name", "namespace", "phase"],
            registry=self.registry,
        )
        self.reconcile_total = Counter(
            "reconcile",
            "Reconciles, by object name and result (success or failure)",
            ["name", "result"],
            registry=self.registry,
        )
        self.reconcile_duration = Histogram(
            "reconcile_duration_seconds",
            "Time one reconcile took, by kind",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "workqueue_depth", "Keys waiting to be reconciled", registry=self.registry
        )
        self.provisioner_errors = Counter(
            "provisioner_errors",
            "Failed provisioner calls, by provisioner and reason",
            ["provisioner", "reason"],
            registry=self.registry,
        )
        self.kube_requests = Counter(
            "kube_api_requests",
            "Requests to the Kubernetes API, by verb and resource",
            ["verb", "resource"],
            registry=self.registry,
        )
        self.leader = Gauge(
            "leader", "1 while this replica holds the leader lease", registry=self.registry
        )
        self.previews_expired = Counter(
            "previews_expired", "Previews the TTL sweep deleted", registry=self.registry
        )
        self.kube_throttling = CallCounter()
        """The API server's 429s, waited out by the client (`Kube(on_throttled=...)`)."""
        self._throttling: dict[str, CallCounter] = {KUBERNETES: self.kube_throttling}
        self.registry.register(_Throttled(self._throttling))

    def count_provisioner_calls(self, counters: Mapping[str, CallCounter]) -> None:
        """Export each provisioner's own call counts (SQL statements, S3/IAM operations,
        Keycloak admin requests) as `provisioner_calls_total{provisioner,access}`, and the
        answers that throttled it as `external_throttled_total{service}` beside the API
        server's."""
        self.registry.register(_ProvisionerCalls(dict(counters)))
        self._throttling.update({SERVICES.get(name, name): c for name, c in counters.items()})

    def set_phase(self, name: str, namespace: str, phase: Phase) -> None:
        for each in PHASES:
            self.application_phase.labels(name, namespace, each).set(1 if each == phase else 0)

    def forget_application(self, name: str, namespace: str) -> None:
        for each in PHASES:
            try:
                self.application_phase.remove(name, namespace, each)
            except KeyError:
                continue

    def count_request(self, verb: str, path: str) -> None:
        self.kube_requests.labels(verb, resource_of(path)).inc()

    def kube_writes(self, resource: str | None = None) -> float:
        """API writes so far (of one resource, e.g. `secrets`, or all but leases)."""
        total = 0.0
        for metric in self.kube_requests.collect():
            for sample in metric.samples:
                if not sample.name.endswith("_total"):
                    continue
                verb, kind = sample.labels["verb"], sample.labels["resource"]
                if verb not in WRITE_VERBS:
                    continue
                if (resource is None and kind != "leases") or kind == resource:
                    total += sample.value
        return total


def resource_of(path: str) -> str:
    """`/api/v1/namespaces/ns/secrets/x` → `secrets`; `.../applications/x/status` →
    `applications/status`; `/api/v1/namespaces/x` → `namespaces`."""
    parts = [part for part in path.split("?", maxsplit=1)[0].split("/") if part]
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if len(rest) > 2 and rest[0] == "namespaces":
        rest = rest[2:]
    if not rest:
        return "unknown"
    return f"{rest[0]}/{rest[2]}" if len(rest) > 2 else rest[0]


class _ProvisionerCalls(Collector):
    def __init__(self, counters: dict[str, CallCounter]) -> None:
        self._counters = counters

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "provisioner_calls",
            "Calls each provisioner made to its service (reads and writes)",
            labels=["provisioner", "access"],
        )
        for name, counter in self._counters.items():
            counts = counter.snapshot()
            family.add_metric([name, "read"], counts.reads)
            family.add_metric([name, "write"], counts.writes)
        yield family


class _Throttled(Collector):
    def __init__(self, counters: Mapping[str, CallCounter]) -> None:
        self._counters = counters

    def collect(self) -> Iterator[Metric]:
        throttled = CounterMetricFamily(
            "external_throttled",
            "Answers of a service that asked to slow down (retried by the client)",
            labels=["service"],
        )
        for service, counter in self._counters.items():
            throttled.add_metric([service], counter.throttled)
        yield throttled
