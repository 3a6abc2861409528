"""Dashboard API benchmark: the status dashboard's JSON API under load.

The controller's real HTTP app serves APPS Applications from an in-memory cache, in its own
process (uvicorn, one worker, as the controller runs it). A second process (this one) loads
`GET /api/v1/applications` (its first page, DEFAULT_PAGE_LIMIT apps; then the whole list on one
page, `limit=0`; then a filter) from concurrent keep-alive clients on loopback, a bounded
number of requests each, and prints p50/p99 latency and throughput (target p99 <= 50 ms). Twice:
with a quiet cache (the list's JSON is reused between changes), and with one Application
changing every CHURN_SECONDS (the list is re-sorted and re-serialised after each change).
`python -m benchmarks.dashboard_bench N` serves N Applications instead (and `run` any number:
the growth curve, benchmarks/scale_bench.py).
Nothing is asserted: the figures are for people.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import threading
import time
from typing import Final

from benchmarks.stats import percentile

APPS: Final = 1000
CLIENTS: Final = (1, 4, 16)
REQUESTS: Final = 2000
"""Requests per run, shared by the clients."""
WARMUP: Final = 50
CHURN_SECONDS: Final = 0.1
PATHS: Final = (
    "/api/v1/applications",
    "/api/v1/applications?limit=0",
    "/api/v1/applications?phase=Failed&text=app-0",
)


def serve(port: int, apps: int, churn: bool) -> None:
    """The child: the controller's HTTP app over a cache holding `apps` Applications."""
    import uvicorn

    from benchmarks.dashboard_samples import application, fill, put
    from controller.config import DashboardSettings
    from controller.machinery.cache import ObjectCache
    from controller.metrics import Metrics
    from controller.runtime import ControllerView
    from controller.web import create_app
    from plattr.environments import shipped

    cache = ObjectCache()
    fill(cache, apps)
    view = ControllerView(
        cache=cache,
        metrics=Metrics(),
        ready=lambda: True,
        healthy=lambda: True,
        leading=lambda: False,
        base_domain="apps.example.com",
        environments=shipped,
    )
    if churn:

        def touch() -> None:
            phases = ("Running", "Provisioning")
            for n in range(sys.maxsize):
                time.sleep(CHURN_SECONDS)
                put(cache, application("app-0000", "production", phases[n % 2]))

        threading.Thread(target=touch, daemon=True).start()
    uvicorn.run(
        create_app(view, DashboardSettings()), host="127.0.0.1", port=port, log_level="warning"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the dashboard server exited before it was ready")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the dashboard server did not start in 60 s")


def _client(port: int, path: str, count: int, samples: list[float]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(count):
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        samples.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status}")
    connection.close()


def load(port: int, path: str, clients: int) -> tuple[list[float], float]:
    samples: list[float] = []
    threads = [
        threading.Thread(target=_client, args=(port, path, REQUESTS // clients, samples))
        for _ in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, time.perf_counter() - started


def run(
    churn: bool,
    apps: int = APPS,
    clients_counts: tuple[int, ...] = CLIENTS,
    paths: tuple[str, ...] = PATHS,
) -> dict[str, float]:
    """Print each path's latency at each client count; returns each path's p99 in
    milliseconds at the last count."""
    port = _free_port()
    command = [sys.executable, "-m", "benchmarks.dashboard_bench", "serve", str(port), str(apps)]
    server = subprocess.Popen([*command, "churn"] if churn else command)
    p99: dict[str, float] = {}
    try:
        _wait_ready(port, server)
        _client(port, PATHS[0], WARMUP, [])
        print(f"-- one change every {CHURN_SECONDS} s" if churn else "-- quiet cache")
        for path in paths:
            for clients in clients_counts:
                samples, elapsed = load(port, path, clients)
                p99[path] = percentile(samples, 0.99) * 1e3
                print(
                    f"GET {path:<48} {clients:>2} clients: "
                    f"p50 {percentile(samples, 0.5) * 1e3:6.1f} ms  "
                    f"p99 {percentile(samples, 0.99) * 1e3:6.1f} ms  "
                    f"{len(samples) / elapsed:6.0f} req/s  ({len(samples)} requests)",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait(10)
    return p99


def main(apps: int = APPS) -> None:
    print(f"{apps} Applications in the cache; uvicorn, one worker; load from a second process")
    for churn in (False, True):
        run(churn, apps)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[2]), int(sys.argv[3]), churn=sys.argv[4:5] == ["churn"])
    else:
        main(*(int(arg) for arg in sys.argv[1:2]))
