"""Growth curve: the controller and the dashboard at 100, 1,000 and 5,000 apps.

Controller, on the local stack with a real `plattr-controller` process:
1. The first 100 Applications (no external services: the controller's own work) with their
   ServiceAccount and Deployment, and a PreviewEnvironment (its namespace, ServiceAccount
   and Deployment) for every tenth app, kwok running their pods: seconds until every one of
   the Applications is Running.
2. Then the controller manager, the scheduler and kwok are stopped (on 2 cores they would
   take most of an hour to roll out thousands of Deployments) and the apps grow to 1,000 and
   5,000 the same way; those Deployments stay as stored, without pods or status. After each
   step, once the queue is empty: the controller's resident memory, and its Kubernetes API
   requests per second during the step. The marginal memory per app is
   (RSS at 5,000 - RSS at 1,000) / 4,000 (target <= 60 KB; the previews ride along).
3. The dashboard's `GET /api/v1/applications` p99 at each size, 16 clients, quiet and with a
   change every 0.1 s (benchmarks/dashboard_bench.py; target <= 50 ms): its first page of
   500 (a client's default), and the whole list on one page (`limit=0`).

SCALE_BENCH_APPS (default "100,1000,5000") sets the steps; the first one is timed to Running,
the last two give the marginal memory. Figures go to test-artifacts/bench-figures.json
(`controller.rss_mb_<n>_apps`, `controller.rss_kb_per_app_marginal`,
`dashboard.p99_ms_<n>_apps`, `..._churn`, `..._whole_list[_churn]`, ...). Nothing is asserted.
"""

from __future__ import annotations

import functools
import os
import signal
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

from kubernetes import config

from benchmarks import dashboard_bench
from benchmarks.controller_bench import (
    ACCOUNT_ID,
    BASE_DOMAIN,
    NAMESPACE_NAME,
    SERVICE_ACCOUNT,
    launch,
    phases,
    quiet,
    rss_mb,
    scrape,
    total,
    wait,
)
from benchmarks.figures import record
from controller.kinds import APPLICATION, DEPLOYMENT, NAMESPACE, PREVIEW
from controller.machinery.kube import Kube
from devstack import Stack
from plattr.models import Application
from plattr.validation import decode
from renderer.options import PreviewParams, RenderOptions
from renderer.render import render

STEPS: Final = tuple(int(n) for n in os.environ.get("SCALE_BENCH_APPS", "100,1000,5000").split(","))
PREVIEW_EVERY: Final = 10
CREATORS: Final = 4
"""Threads creating objects: enough to keep a 2-core API server busy."""
KINDS: Final = {k.name: k for k in (APPLICATION, PREVIEW, NAMESPACE, DEPLOYMENT, SERVICE_ACCOUNT)}
SETTINGS: Final = {"RESYNC_SECONDS": "3600", "WORKERS": "4"}


def objects(name: str, preview: bool) -> list[dict[str, Any]]:
    """What Argo CD would apply for the app (or its preview) that the controller watches or
    needs: the Application (or the preview's namespace and PreviewEnvironment), the
    ServiceAccount and the Deployment."""
    document = {
        "apiVersion": "platform.internal/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "framework": "python",
            "environment": NAMESPACE_NAME,
            "imageRef": "registry.example.test/bench:1.0.0",
        },
    }
    options = RenderOptions(
        base_domain=BASE_DOMAIN,
        aws_account_id=ACCOUNT_ID,
        preview=PreviewParams(pull_request=1) if preview else None,
    )
    return [m for m in render(decode(document, Application), options) if m["kind"] in KINDS]


def create(kube: Kube, names: list[str]) -> None:
    """Every app's objects, and a preview's for every PREVIEW_EVERY-th, CREATORS at a time
    (rendered first, on this thread: msgspec must not build a decoder on two at once)."""
    batches = [
        objects(name, False) + (objects(name, True) if index % PREVIEW_EVERY == 0 else [])
        for index, name in enumerate(names)
    ]

    def one(batch: list[dict[str, Any]]) -> None:
        for obj in batch:
            kube.create(KINDS[obj["kind"]].collection(obj["metadata"].get("namespace")), obj)

    with ThreadPoolExecutor(CREATORS) as pool:
        list(pool.map(one, batches))


def reconciled(port: int, count: int) -> None:
    """Wait until the controller reconciled `count` objects in all and then went quiet."""
    wait(lambda: total(scrape(port), "reconcile_total") >= count, f"{count} reconciles")
    quiet(port)


def grow(kube: Kube, port: int, names: list[str], reconciles: int) -> tuple[float, float]:
    """Create the apps of `names` and wait for the controller; returns the seconds it took
    and the controller's API requests per second meanwhile."""
    before = total(scrape(port), "kube_api_requests_total")
    began = time.monotonic()
    create(kube, names)
    reconciled(port, reconciles)
    seconds = time.monotonic() - began
    return seconds, (total(scrape(port), "kube_api_requests_total") - before) / seconds


def all_running(kube: Kube, apps: int) -> bool:
    return list(phases(kube).values()).count("Running") == apps


def subjects(apps: int) -> int:
    """Applications and PreviewEnvironments for `apps` apps."""
    return apps + -(-apps // PREVIEW_EVERY)


def curve(kube: Kube, stack: Stack, port: int, pid: int) -> list[tuple[int, float, float]]:
    """Grow through STEPS; returns (apps, RSS MB, API requests per second) of each."""
    run = uuid.uuid4().hex[:4]
    names = [f"s{run}-{n:04d}" for n in range(STEPS[-1])]
    rows: list[tuple[int, float, float]] = []
    done = 0
    for apps in STEPS:
        began = time.monotonic()
        seconds, rate = grow(kube, port, names[done:apps], subjects(apps))
        if done == 0:
            wait(functools.partial(all_running, kube, apps), f"{apps} apps Running")
            running = time.monotonic() - began
            print(f"{apps} apps (+{subjects(apps) - apps} previews) all Running in {running:.1f} s")
            record({f"controller.seconds_all_running_{apps}_apps": round(running, 1)})
            if stack.controllers is not None:  # the rest's Deployments stay without pods
                stack.controllers.stop()
        done = apps
        rss, _ = rss_mb(pid)
        rows.append((apps, rss, rate))
        print(
            f"{apps} apps (+{subjects(apps) - apps} previews): RSS {rss:.0f} MB; "
            f"{seconds:.0f} s to create and reconcile the step, {rate:.1f} API requests/s",
            flush=True,
        )
        record(
            {
                f"controller.rss_mb_{apps}_apps": round(rss, 1),
                f"controller.api_requests_per_second_{apps}_apps": round(rate, 1),
            }
        )
    (small, small_rss, _), (large, large_rss, _) = rows[-2], rows[-1]
    marginal = (large_rss - small_rss) * 1024 / (large - small)
    print(f"marginal memory: {marginal:.1f} KB per app from {small} to {large} (target <= 60 KB)")
    record({"controller.rss_kb_per_app_marginal": round(marginal, 1)})
    if 1000 in STEPS:
        record({"controller.rss_mb_per_1000_apps": round(dict(r[:2] for r in rows)[1000], 1)})
    return rows


def dashboard(apps: int) -> tuple[float, float]:
    """The dashboard list's p99 in ms with `apps` Applications, quiet and churning: its
    first page (what a client gets by default); the whole list on one page is recorded too."""
    print(f"-- dashboard, {apps} Applications")
    clients, (first_page, whole) = (dashboard_bench.CLIENTS[-1],), dashboard_bench.PATHS[:2]
    quiet = dashboard_bench.run(False, apps, clients, (first_page, whole))
    churn = dashboard_bench.run(True, apps, clients, (first_page, whole))
    record(
        {
            f"dashboard.p99_ms_{apps}_apps": round(quiet[first_page], 1),
            f"dashboard.p99_ms_{apps}_apps_churn": round(churn[first_page], 1),
            f"dashboard.p99_ms_{apps}_apps_whole_list": round(quiet[whole], 1),
            f"dashboard.p99_ms_{apps}_apps_whole_list_churn": round(churn[whole], 1),
        }
    )
    return quiet[first_page], churn[first_page]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="plattr-scale-") as tmp:
        state = Path(tmp)
        stack = Stack.start(state, ("kube", "controllers", "postgres", "moto"))
        controller = None
        try:
            kubeconfig = str(stack.env()["KUBECONFIG"])
            kube = Kube(config.new_client_from_config(config_file=kubeconfig))  # type: ignore[no-untyped-call]
            controller, port = launch(stack, state, SETTINGS)
            rows = curve(kube, stack, port, controller.pid)
        finally:
            if controller is not None:
                controller.send_signal(signal.SIGTERM)
                controller.wait(30)
            stack.stop()
    latencies = [dashboard(apps) for apps, _, _ in rows]
    load = os.getloadavg()[0]
    record({"scale.load_average": round(load, 2)})
    print(f"growth curve (load average {load:.1f}; dashboard p99 at 16 clients):")
    print("   apps  previews  RSS MB  API req/s  dashboard p99 quiet / churn")
    for (apps, rss, rate), (quiet_p99, churn_p99) in zip(rows, latencies, strict=True):
        print(
            f"  {apps:5d}  {subjects(apps) - apps:8d}  {rss:6.0f}  {rate:9.1f}  "
            f"{quiet_p99:8.1f} ms / {churn_p99:.1f} ms"
        )
