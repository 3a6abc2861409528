"""Keycloak's floor: how fast Keycloak itself creates the realms the auth provisioner makes.

Each realm is the one the controller creates for a benchmark app (the realm, the app's OIDC
client with its secret, a GitHub identity provider), sent as one representation to
POST /admin/realms, nothing else: no reads, no provisioner. The realms are deleted
afterwards (untimed), so each measurement starts from the same Keycloak.

`python -m benchmarks keycloak` starts Keycloak alone and creates KEYCLOAK_BENCH_REALMS
(default 30) realms at each concurrency of KEYCLOAK_BENCH_CONCURRENCY (default 1,2,4): the
measurement behind KEYCLOAK_CONCURRENCY's default. The controller benchmark measures the
floor of its own 100 realms in the same run (`floor`).
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

from benchmarks.figures import record
from controller.app_config import redirect_uris
from controller.provisioners.auth import (
    client_representation,
    new_client_secret,
    provider_representation,
    realm_representation,
)
from devstack import Keycloak, start_keycloak
from plattr.naming import Target

BASE_DOMAIN: Final = "apps.example.test"
ENVIRONMENT: Final = "staging"
REALMS: Final = int(os.environ.get("KEYCLOAK_BENCH_REALMS", "30"))
SWEEP: Final = [int(c) for c in os.environ.get("KEYCLOAK_BENCH_CONCURRENCY", "1,2,4").split(",")]
WARM_UP: Final = 5


def representation(app: str) -> dict[str, Any]:
    """What the auth provisioner sends for a new app with GitHub login."""
    target = Target(app, ENVIRONMENT)
    client = client_representation(target, redirect_uris(target, BASE_DOMAIN, ()))
    github = provider_representation("github", "bench", "bench-secret")
    return realm_representation(target.realm, {**client, "secret": new_client_secret()}, [github])


def _each(concurrency: int, work: Callable[[str], object], items: Sequence[str]) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(work, items))
    return time.perf_counter() - started


def floor(keycloak: Keycloak, apps: Sequence[str], concurrency: int) -> float:
    """Seconds Keycloak takes to create the realms of `apps`, `concurrency` requests at a
    time, through its admin API (python-keycloak, one admin token, renewed when it expires)."""
    admin = keycloak.admin()
    admin.get_realm("master")  # log in before the clock starts
    seconds = _each(concurrency, lambda app: admin.create_realm(representation(app)), apps)
    _each(concurrency, lambda app: admin.delete_realm(Target(app, ENVIRONMENT).realm), apps)
    return seconds


def warm_up(keycloak: Keycloak) -> None:
    """A few realms created and deleted first, so no measurement pays for a cold JVM."""
    floor(keycloak, [f"warm-{uuid.uuid4().hex[:4]}-{n}" for n in range(WARM_UP)], 1)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="plattr-bench-") as tmp:
        keycloak = start_keycloak(Path(tmp))
        try:
            warm_up(keycloak)
            run = uuid.uuid4().hex[:4]
            for concurrency in SWEEP:
                apps = [f"floor-{run}-c{concurrency}-{n:03d}" for n in range(REALMS)]
                seconds = floor(keycloak, apps, concurrency)
                print(
                    f"{REALMS} realms at concurrency {concurrency}: {seconds:.1f} s "
                    f"({seconds / REALMS:.2f} s per realm)",
                    flush=True,
                )
                record({f"keycloak.floor.concurrency{concurrency}.seconds": round(seconds, 2)})
            load = os.getloadavg()[0]
            print(f"load: {load:.1f} (1-minute average at the end)")
            record({"keycloak.floor.load_average": round(load, 2)})
        finally:
            keycloak.stop()
