"""Leader election on a `coordination.k8s.io/v1` Lease, the way client-go does it.

The holder renews every `renew_seconds`. A standby tries every `retry_seconds` and takes
the lease over once the record it last saw has not changed for `lease_seconds`, timed on its
own monotonic clock (so no two clocks are compared). The holder counts itself leader only
until `lease_seconds - renew_seconds` after its last successful renewal started, so it stops
before anyone else can start. On shutdown it hands the lease back at once.

A replica that stops leading must stop writing: code that writes on the leader's behalf
checks `is_leader()` first and raises `NotLeader` when it no longer holds the lease.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from controller.machinery.kube import Kube, KubeError
from controller.machinery.objects import ApiResource, KubeObject

log = logging.getLogger(__name__)

MICRO_TIME: Final = "%Y-%m-%dT%H:%M:%S.%fZ"
LEASE: Final = ApiResource("Lease", "/apis/coordination.k8s.io/v1", "leases")


class NotLeader(Exception):
    """This replica no longer holds the lease, so it must not write: not an API error (the
    API server was never asked) and not worth a retry here (the new leader takes over)."""


@dataclass(frozen=True)
class LeaseSettings:
    """Which Lease to hold, as whom, and how often to renew it or retry taking it."""

    namespace: str
    name: str
    identity: str
    """This replica's name in `holderIdentity` (the pod's name)."""
    lease_seconds: float
    renew_seconds: float
    retry_seconds: float


class LeaderElector:
    def __init__(
        self,
        kube: Kube,
        settings: LeaseSettings,
        on_started: Callable[[], None] = lambda: None,
        on_stopped: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._kube = kube
        self._settings = settings
        self._on_started = on_started
        self._on_stopped = on_stopped
        self._clock = clock
        self._path = LEASE.item(settings.namespace, settings.name)
        self._lock = threading.Lock()
        self._renewed_at: float | None = None
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = 0.0
        self._was_leading = False

    @property
    def identity(self) -> str:
        return self._settings.identity

    def is_leader(self) -> bool:
        """True while our last renewal is fresh enough that no one else can hold the lease."""
        with self._lock:
            renewed = self._renewed_at
        deadline = self._settings.lease_seconds - self._settings.renew_seconds
        return renewed is not None and self._clock() - renewed < deadline

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            leading = self.try_acquire_or_renew()
            self._announce()
            stop.wait(self._settings.renew_seconds if leading else self._settings.retry_seconds)
            self._announce()
        self.release()

    def _announce(self) -> None:
        leading = self.is_leader()
        if leading == self._was_leading:
            return
        self._was_leading = leading
        log.info(
            "started leading" if leading else "stopped leading",
            extra={"identity": self.identity, "lease": self._settings.name},
        )
        (self._on_started if leading else self._on_stopped)()

    def try_acquire_or_renew(self) -> bool:
        started = self._clock()
        try:
            lease = self._kube.get(self._path)
            if lease is None:
                self._kube.create(LEASE.collection(self._settings.namespace), self._record(None))
            else:
                spec = lease.get("spec") or {}
                holder = spec.get("holderIdentity")
                if holder and holder != self.identity and not self._expired(spec, started):
                    with self._lock:
                        self._renewed_at = None  # someone else holds it: stop at once
                    return False
                body = self._record(lease)
                self._kube.replace(self._path, body)
        except KubeError as exc:
            if not exc.conflict:
                log.warning("lease update failed", extra={"error": str(exc)})
            return False
        with self._lock:
            self._renewed_at = started
        return True

    def _expired(self, spec: KubeObject, now: float) -> bool:
        record = (spec.get("holderIdentity"), spec.get("renewTime"), spec.get("leaseTransitions"))
        if record != self._observed:
            self._observed, self._observed_at = record, now
        duration = float(spec.get("leaseDurationSeconds") or self._settings.lease_seconds)
        return now - self._observed_at >= duration

    def _record(self, lease: KubeObject | None) -> KubeObject:
        now = datetime.now(UTC).strftime(MICRO_TIME)
        spec = (lease or {}).get("spec") or {}
        ours = spec.get("holderIdentity") == self.identity
        transitions = int(spec.get("leaseTransitions") or 0) + (0 if ours or lease is None else 1)
        metadata: KubeObject = {"name": self._settings.name, "namespace": self._settings.namespace}
        if lease is not None:
            metadata["resourceVersion"] = lease["metadata"]["resourceVersion"]
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": int(self._settings.lease_seconds),
                "acquireTime": spec.get("acquireTime") if ours else now,
                "renewTime": now,
                "leaseTransitions": transitions,
            },
        }

    def release(self) -> None:
        """Give the lease up now, so a standby need not wait for it to expire."""
        if not self.is_leader():
            return
        with self._lock:
            self._renewed_at = None
        self._announce()
        try:
            lease = self._kube.get(self._path)
            if lease and (lease.get("spec") or {}).get("holderIdentity") == self.identity:
                spec = {**lease["spec"], "holderIdentity": None, "leaseDurationSeconds": 1}
                self._kube.replace(self._path, {**lease, "spec": spec})
                log.info("lease released", extra={"identity": self.identity})
        except KubeError as exc:
            log.warning("could not release the lease", extra={"error": str(exc)})
