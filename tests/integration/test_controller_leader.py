"""Two `plattr-controller` processes with leader election on the real stack: one leads,
the standby keeps its cache warm and serves /readyz, and when the leader is killed the
standby takes the Lease over and reconciles. Failover time is recorded, not asserted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from controller.config import LEASE_NAME
from controller.kinds import APPLICATION, LEASE, NAMESPACE
from controller.machinery.kube import Kube
from devstack import wait_until
from devstack.ports import free_port
from plattr.naming import Target
from tests.support.controller_harness import (
    apply_manifests,
    controller_env,
    ensure_provider_secret,
    record_figure,
    rendered,
    spec,
)
from tests.support.stack import LocalStack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

LEASE_NAMESPACE = "plattr-system"
TIMEOUT = 90.0


class Replica:
    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.log = log_dir / f"controller-{name}.log"
        command = Path(sys.executable).parent / "plattr-controller"
        full_env = {
            "PATH": os.environ.get("PATH", ""),
            **env,
            "LEADER_ELECTION": "true",
            "LEASE_NAMESPACE": LEASE_NAMESPACE,
            "POD_NAME": name,
            "METRICS_HOST": "127.0.0.1",
            "METRICS_PORT": str(self.port),
        }
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(command)], env=full_env, stdout=out, stderr=subprocess.STDOUT
            )

    def get(self, path: str) -> httpx.Response | None:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=2)
        except httpx.HTTPError:
            return None

    def ready(self) -> bool:
        answer = self.get("/readyz")
        return answer is not None and answer.status_code == 200

    def leading(self) -> bool:
        answer = self.get("/metrics")
        return answer is not None and "\nleader 1.0" in answer.text

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(30)


class Replicas:
    """Controller processes on this stack; all killed at the end of the test."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self._env, self._log_dir = env, log_dir
        self.started: list[Replica] = []

    def start(self, name: str) -> Replica:
        self.started.append(Replica(name, self._env, self._log_dir))
        return self.started[-1]


@pytest.fixture
def replicas(stack: LocalStack, stack_dir: Path) -> Iterator[Replicas]:
    made = Replicas(controller_env(stack), stack_dir / "logs")
    yield made
    for replica in made.started:
        replica.stop(signal.SIGKILL)


def holder(kube: Kube) -> str | None:
    lease = kube.get(LEASE.item(LEASE_NAMESPACE, LEASE_NAME)) or {}
    value: str | None = (lease.get("spec") or {}).get("holderIdentity")
    return value


def test_the_standby_takes_over_when_the_leader_dies(
    replicas: Replicas, kube_api_client: Any
) -> None:
    kube = Kube(kube_api_client)
    ensure_provider_secret(kube)
    if kube.get(f"{NAMESPACE.collection()}/{LEASE_NAMESPACE}") is None:
        kube.create(NAMESPACE.collection(), {"metadata": {"name": LEASE_NAMESPACE}})
    kube.delete(LEASE.item(LEASE_NAMESPACE, LEASE_NAME))

    first = replicas.start(f"a-{uuid.uuid4().hex[:4]}")
    wait_until(lambda: holder(kube) == first.name and first.ready(), "first replica leads", TIMEOUT)
    second = replicas.start(f"b-{uuid.uuid4().hex[:4]}")
    wait_until(second.ready, "standby ready (cache warm)", TIMEOUT)
    assert not second.leading()
    assert holder(kube) == first.name

    app = Target(f"ha-{uuid.uuid4().hex[:6]}", "staging")
    apply_manifests(kube, rendered(spec(auth={"enabled": False}), app.app))
    wait_until(lambda: phase(kube, app) == "Running", "app Running under the first leader", TIMEOUT)

    killed = time.monotonic()
    first.stop(signal.SIGKILL)
    last_renewal = lease_time(kube, "renewTime")
    wait_until(lambda: holder(kube) == second.name, "standby holds the lease", TIMEOUT)
    record_figure("seconds_failover_after_sigkill", round(time.monotonic() - killed, 2))
    taken = (lease_time(kube, "acquireTime") - last_renewal).total_seconds()
    record_figure("seconds_from_last_renewal_to_takeover", round(taken, 2))
    wait_until(second.leading, "standby leading", TIMEOUT)

    other = Target(f"ha-{uuid.uuid4().hex[:6]}", "staging")
    apply_manifests(kube, rendered(spec(auth={"enabled": False}), other.app))
    wait_until(lambda: phase(kube, other) == "Running", "app Running under the new leader", TIMEOUT)

    released = time.monotonic()
    second.stop(signal.SIGTERM)
    assert holder(kube) is None  # handed back on shutdown: no one waits for expiry
    record_figure("seconds_graceful_handover", round(time.monotonic() - released, 2))


def lease_time(kube: Kube, field: str) -> datetime:
    lease = kube.get(LEASE.item(LEASE_NAMESPACE, LEASE_NAME)) or {}
    return datetime.fromisoformat(lease["spec"][field].replace("Z", "+00:00"))


def phase(kube: Kube, target: Target) -> str | None:
    obj = kube.get(APPLICATION.item(target.namespace, target.app)) or {}
    value: str | None = (obj.get("status") or {}).get("phase")
    return value
