"""Controller benchmark, on the local stack with a real `plattr-controller` process.

0. With auth: Keycloak's floor, the same 100 realms (client, identity provider) created
   directly through its admin API, one at a time and KEYCLOAK_CONCURRENCY at a time
   (benchmarks/keycloak_bench.py), before the controller starts.
1. 100 Applications (database, storage, auth), each with its rendered Deployment, applied at
   once: time until all are Running, each app's time from creation to Running, and (with
   auth) the ratio to the faster floor (target <= 1.5).
2. A no-op resync of those 100: Kubernetes API requests, SQL statements, S3/IAM operations
   and Keycloak requests per app, reads and writes (the target is zero writes).
3. 1,000 Applications in the cache: the controller's resident memory (target <= 200 MB).

CONTROLLER_BENCH_AUTH=false leaves auth out of the 100 apps, to see the controller's own
pace apart from Keycloak's realm creation. The figures go to test-artifacts/bench-figures.json
under `controller.auth100.*` (`controller.noauth100.*` without auth).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import httpx
from kubernetes import config
from prometheus_client.parser import text_string_to_metric_families

from benchmarks import keycloak_bench
from benchmarks.figures import record
from benchmarks.stats import percentile
from controller.config import KeycloakSettings
from controller.kinds import APPLICATION, DEPLOYMENT, NAMESPACE, SECRET
from controller.machinery.kube import Kube
from controller.machinery.objects import ApiResource
from controller.provisioners import identity_providers
from devstack import Keycloak, Stack, wait_until
from devstack.ports import free_port
from plattr.models import Application
from plattr.validation import decode
from renderer.options import RenderOptions
from renderer.render import render

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))  # devstack lives in tools/, as for the tests


BASE_DOMAIN: Final = "apps.example.test"
ACCOUNT_ID: Final = "123456789012"
FULL_APPS: Final = 100
CACHED_APPS: Final = 1000
NAMESPACE_NAME: Final = "staging"
SERVICE_ACCOUNT: Final = ApiResource("ServiceAccount", "/api/v1", "serviceaccounts")
KINDS: Final = {k.name: k for k in (APPLICATION, DEPLOYMENT, SERVICE_ACCOUNT)}
TIMEOUT: Final = 900.0
RESYNC_SECONDS: Final = 60
WITH_AUTH: Final = os.environ.get("CONTROLLER_BENCH_AUTH", "true").lower() != "false"
FIGURE_PREFIX: Final = "controller.auth100" if WITH_AUTH else "controller.noauth100"
KEYCLOAK_CONCURRENCY: Final = int(
    os.environ.get("KEYCLOAK_CONCURRENCY", KeycloakSettings.concurrency)
)
WRITE_VERBS: Final = [{"verb": verb} for verb in ("POST", "PUT", "PATCH", "DELETE")]
RESYNC_FIGURES: Final = [
    ("Kubernetes API reads", "kube_api_requests_total", [{"verb": "GET"}]),
    ("Kubernetes API writes", "kube_api_requests_total", WRITE_VERBS),
    *(
        (f"{what}, {access}s", "provisioner_calls_total", [{"provisioner": name, "access": access}])
        for name, what in (
            ("database", "SQL statements"),
            ("storage", "S3/IAM operations"),
            ("auth", "Keycloak requests"),
        )
        for access in ("read", "write")
    ),
]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def spec(full: bool) -> dict[str, Any]:
    return {
        "framework": "python",
        "environment": NAMESPACE_NAME,
        "imageRef": "registry.example.test/bench:1.0.0",
        "database": {"enabled": full},
        "storage": {"enabled": full, "buckets": [{"name": "uploads"}] if full else []},
        "auth": {"enabled": full and WITH_AUTH, "providers": ["github"] if full else []},
    }


def manifests(name: str, full: bool) -> list[dict[str, Any]]:
    document = {
        "apiVersion": "platform.internal/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": spec(full),
    }
    options = RenderOptions(base_domain=BASE_DOMAIN, aws_account_id=ACCOUNT_ID)
    wanted = KINDS if full else {"Application": APPLICATION}
    return [m for m in render(decode(document, Application), options) if m["kind"] in wanted]


def create(kube: Kube, objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        kube.create(KINDS[obj["kind"]].collection(obj["metadata"]["namespace"]), obj)


def scrape(port: int) -> Samples:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


def quiet(port: int, seconds: float = 3.0, limit: float = 60.0) -> Samples:
    """Metrics once the queue is empty and no reconcile ran for `seconds`, or `limit`
    seconds on (the spread resync reconciles some app every few seconds)."""
    last = scrape(port)
    since = began = time.monotonic()
    while time.monotonic() - since < seconds and time.monotonic() - began < limit:
        time.sleep(0.5)
        now = scrape(port)
        busy = total(now, "workqueue_depth") > 0
        if busy or total(now, "reconcile_total") != total(last, "reconcile_total"):
            last, since = now, time.monotonic()
    return last


def phases(kube: Kube) -> dict[str, str | None]:
    items = kube.list(APPLICATION.collection(NAMESPACE_NAME))["items"]
    return {i["metadata"]["name"]: (i.get("status") or {}).get("phase") for i in items}


def provider_secret(kube: Kube) -> None:
    namespace = identity_providers.SECRET_NAMESPACE
    if kube.get(f"{NAMESPACE.collection()}/{namespace}") is None:
        kube.create(NAMESPACE.collection(), {"metadata": {"name": namespace}})
    data = {"github.clientId": "YmVuY2g=", "github.clientSecret": "YmVuY2gtc2VjcmV0"}
    body = {"metadata": {"name": identity_providers.SECRET_NAME}, "data": data}
    kube.create(SECRET.collection(namespace), body)


def rss_mb(pid: int) -> tuple[float, float]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def wait(predicate: Callable[[], bool], what: str) -> None:
    wait_until(predicate, what, TIMEOUT)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="plattr-bench-") as tmp:
        state = Path(tmp)
        started = time.perf_counter()
        stack = Stack.start(state)
        print(f"stack started in {time.perf_counter() - started:.1f} s")
        controller: subprocess.Popen[bytes] | None = None
        try:
            kubeconfig = str(stack.env()["KUBECONFIG"])
            kube = Kube(config.new_client_from_config(config_file=kubeconfig))  # type: ignore[no-untyped-call]
            provider_secret(kube)
            run = uuid.uuid4().hex[:4]
            floor = None
            if WITH_AUTH and stack.keycloak is not None:
                floor = keycloak_floor(stack.keycloak, bench_names(run))
            settings = {
                "RESYNC_SECONDS": str(RESYNC_SECONDS),
                "KEYCLOAK_CONCURRENCY": str(KEYCLOAK_CONCURRENCY),
            }
            controller, port = launch(stack, state, settings)
            running(kube, port, controller.pid, run, floor)
        finally:
            if controller is not None:
                controller.send_signal(signal.SIGTERM)
                controller.wait(30)
            stack.stop()


def launch(
    stack: Stack, state: Path, settings: dict[str, str]
) -> tuple[subprocess.Popen[bytes], int]:
    """A `plattr-controller` process on the stack, with `settings` on top of the bench's
    defaults, logging to state/controller.log; returns it and its metrics port once ready."""
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        **stack.env(),
        "BASE_DOMAIN": BASE_DOMAIN,
        "OIDC_PROVIDER_ARN": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/oidc.bench/id/X",
        "METRICS_HOST": "127.0.0.1",
        "METRICS_PORT": str(port),
        "TTL_SWEEP_SECONDS": "3600",
        **settings,
    }
    log = (state / "controller.log").open("ab")
    command = Path(sys.executable).parent / "plattr-controller"
    controller = subprocess.Popen([str(command)], env=env, stdout=log, stderr=log)
    wait(lambda: controller.poll() is not None or _ready(port), "controller ready")
    if controller.returncode is not None:
        tail = (state / "controller.log").read_text()[-2000:]
        raise RuntimeError(f"plattr-controller exited ({controller.returncode}):\n{tail}")
    return controller, port


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def bench_names(run: str) -> list[str]:
    return [f"bench-{run}-{n:03d}" for n in range(FULL_APPS)]


def keycloak_floor(keycloak: Keycloak, names: list[str]) -> float:
    """Keycloak's own time for the realms of `names` (created, timed, deleted again): the
    faster of one at a time and KEYCLOAK_CONCURRENCY at a time."""
    keycloak_bench.warm_up(keycloak)
    sequential = keycloak_bench.floor(keycloak, names, 1)
    concurrent = keycloak_bench.floor(keycloak, names, KEYCLOAK_CONCURRENCY)
    print(
        f"Keycloak floor, the same {len(names)} realms through the admin API: "
        f"{sequential:.1f} s one at a time, {concurrent:.1f} s {KEYCLOAK_CONCURRENCY} at a time"
    )
    record(
        {
            f"{FIGURE_PREFIX}.keycloak_floor_seconds": round(sequential, 2),
            f"{FIGURE_PREFIX}.keycloak_floor_concurrent_seconds": round(concurrent, 2),
            f"{FIGURE_PREFIX}.keycloak_concurrency": KEYCLOAK_CONCURRENCY,
            f"{FIGURE_PREFIX}.keycloak_floor_load_average": round(os.getloadavg()[0], 2),
        }
    )
    return min(sequential, concurrent)


def running(kube: Kube, port: int, pid: int, run: str, floor: float | None) -> None:
    names = bench_names(run)
    created: dict[str, float] = {}
    began = time.monotonic()
    for name in names:
        create(kube, manifests(name, full=True))
        created[name] = time.monotonic()
    features = "database, storage" + (", auth" if WITH_AUTH else "")
    print(f"{FULL_APPS} apps ({features}) applied in {time.monotonic() - began:.1f} s")
    ready: dict[str, float] = {}

    def all_running() -> bool:
        now = time.monotonic()
        for name, phase in phases(kube).items():
            if phase == "Running" and name not in ready:
                ready[name] = now
        return len(ready) == FULL_APPS

    wait(all_running, f"{FULL_APPS} apps Running")
    latencies = [ready[n] - created[n] for n in names]
    seconds = max(ready.values()) - began
    print(
        f"all {FULL_APPS} Running {seconds:.1f} s after the first was applied; "
        f"per app p50 {percentile(latencies, 0.5):.1f} s, p95 {percentile(latencies, 0.95):.1f} s"
    )
    record(
        {
            f"{FIGURE_PREFIX}.seconds_all_running": round(seconds, 2),
            f"{FIGURE_PREFIX}.p50_seconds": round(percentile(latencies, 0.5), 2),
            f"{FIGURE_PREFIX}.p95_seconds": round(percentile(latencies, 0.95), 2),
            f"{FIGURE_PREFIX}.load_average": round(os.getloadavg()[0], 2),
        }
    )
    if floor is not None:
        print(f"ratio to Keycloak's floor ({floor:.1f} s): {seconds / floor:.2f} (target <= 1.5)")
        record({f"{FIGURE_PREFIX}.ratio": round(seconds / floor, 2)})

    quiet(port)
    before = scrape(port)  # then one resync period: each app is reconciled once in it
    reconciles = total(before, "reconcile_total")
    time.sleep(RESYNC_SECONDS)
    after = scrape(port)
    print(f"no-op resync ({total(after, 'reconcile_total') - reconciles:.0f} reconciles), per app:")
    for label, name, labels in RESYNC_FIGURES:
        delta = sum(total(after, name, **each) - total(before, name, **each) for each in labels)
        print(f"  {label:28} {delta / FULL_APPS:6.2f}")

    began = time.monotonic()
    for n in range(CACHED_APPS - FULL_APPS):
        create(kube, manifests(f"cached-{run}-{n:04d}", full=False))
    wait(lambda: all(phases(kube).values()), f"{CACHED_APPS} apps with a status")
    quiet(port)
    rss, peak = rss_mb(pid)
    print(
        f"{CACHED_APPS} apps in the cache ({time.monotonic() - began:.1f} s to create and "
        f"reconcile {CACHED_APPS - FULL_APPS}): RSS {rss:.0f} MB, peak {peak:.0f} MB"
    )
