"""Drift correction's cost, on the local stack with a real `plattr-controller` process, in
compressed time (every period divided by SCALE, so an hour takes 72 s).

N Applications (database, storage, auth) reach Running. Then:

1. Before: a controller that verifies every system on every resync (`*_VERIFY_SECONDS=0`,
   the old schedule) over three resyncs: external reads (SQL statements, S3/IAM operations,
   Keycloak admin requests) per app per hour.
2. After: a controller at the defaults (RESYNC_SECONDS=300, *_VERIFY_SECONDS=3600, scaled)
   over two hours after its start-up verification: external reads and Kubernetes API reads
   per app per hour, and the peak-to-average ratio of the external reads over 5- and
   20-minute windows (how evenly the verifications spread).
3. Drift bounds: a hand-made policy on the buckets of five apps (time until each is removed,
   scaled back; the bound is VERIFY + RESYNC), and a deleted auth Secret (real seconds until
   it is back: watched, not scheduled).

The figures go to test-artifacts/bench-figures.json under `controller.noop.*` and
`controller.drift.*`. DRIFT_BENCH_APPS sets N (default 40).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Final

from kubernetes import config

from benchmarks.controller_bench import (
    NAMESPACE_NAME,
    Samples,
    create,
    launch,
    manifests,
    phases,
    provider_secret,
    scrape,
    total,
    wait,
)
from benchmarks.figures import record
from controller.kinds import CONFIG_MAP, SECRET
from controller.machinery.kube import Kube
from devstack import Moto, Stack
from plattr import secret_keys
from plattr.naming import Target

APPS: Final = int(os.environ.get("DRIFT_BENCH_APPS", "40"))
SCALE: Final = 50
RESYNC: Final = 300
VERIFY: Final = 3600
HOUR: Final = 3600 / SCALE
SYSTEMS: Final = {"database": "SQL", "storage": "S3/IAM", "auth": "Keycloak"}
WINDOWS: Final = {"5min": 300 / SCALE, "20min": 1200 / SCALE}
PROBES: Final = 5
PREFIX: Final = "controller.noop"


def scaled(seconds: float) -> str:
    return str(seconds / SCALE)


def periods(verify: float) -> dict[str, str]:
    return {
        "RESYNC_SECONDS": scaled(RESYNC),
        **{f"{name.upper()}_VERIFY_SECONDS": scaled(verify) for name in SYSTEMS},
    }


def external_reads(samples: Samples, system: str | None = None) -> float:
    systems = [system] if system else list(SYSTEMS)
    return sum(
        total(samples, "provisioner_calls_total", provisioner=name, access="read")
        for name in systems
    )


def kube_reads(samples: Samples) -> float:
    return total(samples, "kube_api_requests_total", verb="GET") - total(
        samples, "kube_api_requests_total", verb="GET", resource="leases"
    )


def per_app_hour(count: float, seconds: float) -> float:
    return count / APPS / (seconds / HOUR)


def observe(port: int, hours: float, step: float) -> list[Samples]:
    """Metrics every `step` seconds for `hours` (scaled) hours, the first at once."""
    began, taken = time.monotonic(), []
    for n in range(round(hours * HOUR / step) + 1):
        time.sleep(max(0.0, began + n * step - time.monotonic()))
        taken.append(scrape(port))
    return taken


def peak_to_average(series: list[Samples], step: float, window: float) -> float:
    per = max(1, round(window / step))
    counts = [
        external_reads(series[n + per]) - external_reads(series[n])
        for n in range(0, len(series) - per, per)
    ]
    mean = sum(counts) / len(counts)
    return max(counts) / mean if mean else 0.0


def settled(kube: Kube, port: int, names: list[str]) -> None:
    """Every app Running and reconciled once more since (a whole resync period)."""
    wait(lambda: all_running(kube, names), f"{APPS} apps Running")
    reconciles = total(scrape(port), "reconcile_total")
    wait(lambda: total(scrape(port), "reconcile_total") >= reconciles + APPS, "a resync")


def before(stack: Stack, state: Path, kube: Kube, names: list[str]) -> float:
    """External reads per app per hour when every resync verifies everything: the reads of
    a no-op reconcile times the resyncs in an hour (so a controller that falls behind under
    load does not make the old schedule look cheaper)."""
    controller, port = launch(stack, state, periods(0))
    try:
        settled(kube, port, names)
        start = scrape(port)
        time.sleep(3 * RESYNC / SCALE)
        end = scrape(port)
    finally:
        stop(controller)
    reconciles = total(end, "reconcile_total") - total(start, "reconcile_total")
    per_reconcile = (external_reads(end) - external_reads(start)) / reconciles
    return per_reconcile * 3600 / RESYNC


def after(stack: Stack, state: Path, kube: Kube, names: list[str]) -> None:
    controller, port = launch(stack, state, periods(VERIFY))
    try:
        settled(kube, port, names)  # the start-up verification of every app is over
        step = WINDOWS["5min"]
        series = observe(port, hours=2, step=step)
        seconds = step * (len(series) - 1)
        first, last = series[0], series[-1]
        figures = {
            f"{PREFIX}.external_reads_per_app_hour": per_app_hour(
                external_reads(last) - external_reads(first), seconds
            ),
            f"{PREFIX}.kube_reads_per_app_hour": per_app_hour(
                kube_reads(last) - kube_reads(first), seconds
            ),
            **{
                f"{PREFIX}.{name}_reads_per_app_hour": per_app_hour(
                    external_reads(last, name) - external_reads(first, name), seconds
                )
                for name in SYSTEMS
            },
            **{
                f"{PREFIX}.peak_to_average_{label}": peak_to_average(series, step, window)
                for label, window in WINDOWS.items()
            },
        }
        rounded = {key: round(value, 2) for key, value in figures.items()}
        for key, value in rounded.items():
            print(f"  {key.removeprefix(PREFIX + '.'):40} {value}")
        record(rounded)
        if stack.moto is None:
            raise RuntimeError("the drift benchmark needs moto in the stack")
        drift_bounds(kube, stack.moto, names)
    finally:
        stop(controller)


def drift_bounds(kube: Kube, moto: Moto, names: list[str]) -> None:
    buckets = [bucket_of(kube, name) for name in names[:PROBES]]
    changed = time.monotonic()
    for bucket in buckets:
        moto.put_foreign_policy(bucket)
    restored: dict[str, float] = {}

    def all_restored() -> bool:
        for bucket in buckets:
            if bucket not in restored and not moto.has_policy(bucket):
                restored[bucket] = time.monotonic() - changed
        return len(restored) == len(buckets)

    wait(all_restored, "hand-made bucket policies removed")
    worst = max(restored.values()) * SCALE
    target = Target(names[-1], NAMESPACE_NAME)
    secret = target.secret_name("auth")
    kube.delete(SECRET.item(target.namespace, secret))
    deleted = time.monotonic()
    wait(lambda: kube.get(SECRET.item(target.namespace, secret)) is not None, "Secret back")
    secret_seconds = time.monotonic() - deleted
    print(
        f"a hand-made bucket policy removed within {worst:.0f} s at the defaults (worst of "
        f"{PROBES}; bound {VERIFY + RESYNC} s); a deleted Secret back in {secret_seconds:.1f} s"
    )
    record(
        {
            "controller.drift.bucket_policy_restored_seconds_worst": round(worst),
            "controller.drift.bucket_policy_bound_seconds": VERIFY + RESYNC,
            "controller.drift.secret_restored_seconds": round(secret_seconds, 2),
        }
    )


def bucket_of(kube: Kube, name: str) -> str:
    target = Target(name, NAMESPACE_NAME)
    found = kube.get(CONFIG_MAP.item(target.namespace, target.config_map_name("storage"))) or {}
    bucket: str = found["data"][secret_keys.bucket_key("uploads")]
    return bucket


def all_running(kube: Kube, names: list[str]) -> bool:
    found = phases(kube)
    return all(found.get(name) == "Running" for name in names)


def stop(controller: subprocess.Popen[bytes]) -> None:
    controller.send_signal(signal.SIGTERM)
    controller.wait(30)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="plattr-bench-") as tmp:
        state = Path(tmp)
        stack = Stack.start(state)
        try:
            kubeconfig = str(stack.env()["KUBECONFIG"])
            kube = Kube(config.new_client_from_config(config_file=kubeconfig))  # type: ignore[no-untyped-call]
            provider_secret(kube)
            run = uuid.uuid4().hex[:4]
            names = [f"drift-{run}-{n:03d}" for n in range(APPS)]
            for name in names:
                create(kube, manifests(name, full=True))
            print(f"{APPS} apps (database, storage, auth); time compressed {SCALE}:1")
            old = before(stack, state, kube, names)
            print(f"  verifying on every resync: {old:.1f} external reads per app per hour")
            record({f"{PREFIX}.external_reads_per_app_hour_verify_every_resync": round(old, 2)})
            print("  at the defaults (RESYNC_SECONDS=300, *_VERIFY_SECONDS=3600):")
            after(stack, state, kube, names)
            record({"controller.drift.apps": APPS, "controller.drift.time_scale": SCALE})
        finally:
            stack.stop()
