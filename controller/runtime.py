"""The controller's moving parts, wired: reflectors fill the cache and feed the work queue,
workers reconcile while this replica leads, a resync re-queues everything periodically,
and the TTL sweep removes expired previews.

Only changes that matter queue work: a new generation or a deletion of an Application or
PreviewEnvironment (its own status writes do not), any change to its Deployment, Secrets or
ConfigMap (drift), a change of Keycloak's admin Secret (every app asking for auth), and the
periodic resync (drift outside the cluster).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from controller.app_config import owner_of
from controller.cluster import KubeCluster
from controller.config import Settings
from controller.kinds import (
    CONFIG_MAP,
    DEPLOYMENT,
    KEYCLOAK_ADMIN_SECRET,
    LEASE,
    NAMESPACE,
    PLATTR_KINDS,
    SECRET,
    WATCHED_KINDS,
    keycloak_admin_secret,
)
from controller.machinery.backoff import RetrySchedule
from controller.machinery.cache import ObjectCache
from controller.machinery.kube import Kube, KubeError
from controller.machinery.leader import LeaderElector, NotLeader
from controller.machinery.objects import KubeObject, ObjectKey, generation
from controller.machinery.reflector import Reflector
from controller.machinery.workqueue import WorkQueue
from controller.metrics import Metrics
from controller.reconciler import Provisioners, Reconciler
from controller.subjects import prepare_models
from controller.sweep import TtlSweeper

log = logging.getLogger(__name__)

POLL_SECONDS: Final = 1.0
RECONCILE_RETRIES: Final = RetrySchedule(base=1.0, factor=2.0, attempts=3)
"""A failed reconcile is retried 1 s, 2 s and 4 s later; the reconcile after the third retry
is the final attempt, whose failure sets phase Failed (controller/README.md)."""
KINDS_BY_NAME: Final = {kind.name: kind for kind in (*WATCHED_KINDS, NAMESPACE, LEASE)}


class Leadership(Protocol):
    def is_leader(self) -> bool: ...


class AlwaysLeader:
    """Leader election off: the only replica always leads."""

    def is_leader(self) -> bool:
        return True


@dataclass(frozen=True)
class ControllerView:
    """What the HTTP app (health, metrics, the dashboard's API) may read, on any replica."""

    cache: ObjectCache
    metrics: Metrics
    ready: Callable[[], bool]
    healthy: Callable[[], bool]
    leading: Callable[[], bool]
    base_domain: str


class Controller:
    def __init__(
        self,
        settings: Settings,
        kube: Kube,
        provisioners: Provisioners,
        metrics: Metrics,
        *,
        watch_seconds: int = 300,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.cache = ObjectCache()
        self.queue: WorkQueue[ObjectKey] = WorkQueue(RECONCILE_RETRIES)
        self.leadership: Leadership
        self.elector: LeaderElector | None = None
        if settings.leader.enabled:
            self.elector = LeaderElector(
                kube,
                settings.leader,
                on_started=self._started_leading,
                on_stopped=self._stopped_leading,
            )
            self.leadership = self.elector
        else:
            self.leadership = AlwaysLeader()
        self.cluster = KubeCluster(
            kube, self.cache, KINDS_BY_NAME, may_write=self.leadership.is_leader
        )
        self.reconciler = Reconciler(
            self.cluster,
            self.cache,
            provisioners,
            metrics,
            base_domain=settings.base_domain,
            aws_region=settings.aws_region,
        )
        self.sweeper = TtlSweeper(self.cache, self.cluster, metrics)
        namespaces: tuple[str | None, ...] = settings.watch_namespaces or (None,)
        self.reflectors = [
            Reflector(
                kube, kind, self.cache, self.handle_change, namespace, watch_seconds=watch_seconds
            )
            for kind in WATCHED_KINDS
            for namespace in namespaces
        ]
        if settings.keycloak and (admin := settings.keycloak.admin_secret):
            kind = keycloak_admin_secret(admin.name)
            self.reflectors.append(
                Reflector(
                    kube,
                    kind,
                    self.cache,
                    self.handle_change,
                    admin.namespace,
                    watch_seconds=watch_seconds,
                )
            )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        metrics.queue_depth.set_function(lambda: len(self.queue))

    @property
    def view(self) -> ControllerView:
        return ControllerView(
            cache=self.cache,
            metrics=self.metrics,
            ready=self.ready,
            healthy=self.healthy,
            leading=self.leadership.is_leader,
            base_domain=self.settings.base_domain,
        )

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        prepare_models()  # before any thread decodes: see its docstring
        targets: list[tuple[str, Callable[[], None]]] = [
            (f"reflector-{reflector.scope}", functools.partial(reflector.run, self._stop))
            for reflector in self.reflectors
        ]
        if (elector := self.elector) is not None:
            targets.append(("leader-election", functools.partial(elector.run, self._stop)))
        else:
            self.metrics.leader.set(1)
        targets += [(f"worker-{n}", self._work) for n in range(self.settings.workers)]
        targets += [
            ("resync", lambda: self._every(self.settings.resync_seconds, self.resync)),
            ("ttl-sweep", lambda: self._every(self.settings.ttl_sweep_seconds, self.sweeper.sweep)),
        ]
        for name, target in targets:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info(
            "controller started",
            extra={
                "workers": self.settings.workers,
                "leader_election": self.settings.leader.enabled,
            },
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every loop and hand the lease back."""
        self._stop.set()
        self.queue.shutdown()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if not thread.name.startswith("reflector-"):  # those end with their watch
                thread.join(max(0.0, deadline - time.monotonic()))
        log.info("controller stopped")

    def ready(self) -> bool:
        """The caches hold a full list of every watched kind."""
        return self.cache.synced(r.scope for r in self.reflectors)

    def healthy(self) -> bool:
        return self._stop.is_set() or all(thread.is_alive() for thread in self._threads)

    def resync(self) -> None:
        """Queue every Application and PreviewEnvironment (corrects drift outside the cluster)."""
        if not self.leadership.is_leader():
            return
        for kind in PLATTR_KINDS:
            for key in self.cache.keys(kind.name):
                self.queue.add(key)

    # --- events --------------------------------------------------------------------------

    def handle_change(self, key: ObjectKey, old: KubeObject | None, new: KubeObject | None) -> None:
        if old is not None and new is not None and _version(old) == _version(new):
            return  # the watch catching up with a write this controller already cached
        if key.kind in {kind.name for kind in PLATTR_KINDS}:
            if _needs_reconcile(old, new):
                self.queue.forget(key)  # a new generation gets a fresh set of retries
                self.queue.add(key)
            return
        obj = new or old
        if obj is None:
            return
        if key.kind == KEYCLOAK_ADMIN_SECRET:
            self._retry_auth()
            return
        if key.kind == DEPLOYMENT.name:
            owners = [ObjectKey(kind.name, key.namespace, key.name) for kind in PLATTR_KINDS]
        elif key.kind in (SECRET.name, CONFIG_MAP.name):
            owner = owner_of(key.namespace, obj["metadata"].get("labels") or {})
            owners = [owner] if owner else []
        else:
            owners = []
        for owner in owners:
            if self.cache.get(owner) is not None:
                self.queue.add(owner)

    def _retry_auth(self) -> None:
        """Keycloak's admin credentials appeared or changed: every subject asking for auth
        gets a fresh set of retries (those that failed without them recover at once)."""
        for kind in PLATTR_KINDS:
            for key in self.cache.keys(kind.name):
                obj = self.cache.get(key) or {}
                if ((obj.get("spec") or {}).get("auth") or {}).get("enabled"):
                    self.queue.forget(key)
                    self.queue.add(key)

    # --- loops ---------------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stop.is_set():
            if not self.leadership.is_leader():
                self._stop.wait(POLL_SECONDS)
                continue
            key = self.queue.get(timeout=POLL_SECONDS)
            if key is None:
                continue
            try:
                if self.leadership.is_leader():  # the lease may have gone while we waited
                    self._reconcile(key)
            finally:
                self.queue.done(key)

    def _reconcile(self, key: ObjectKey) -> None:
        started = time.perf_counter()
        context = {"kind": key.kind, "app": key.name, "namespace": key.namespace}
        try:
            ok = self.reconciler.reconcile(key, final_attempt=self.queue.retries_exhausted(key))
        except NotLeader:  # the lease went mid-reconcile: the next leader's resync takes over
            log.info("reconcile abandoned: no longer the leader", extra=context)
            return
        except KubeError as exc:  # a conflict or an unreachable API server: retried below
            log.warning("reconcile interrupted: %s", exc, extra=context)
            ok = False
        except Exception:
            log.exception("reconcile failed", extra=context)
            ok = False
        self.metrics.reconcile_duration.labels(key.kind).observe(time.perf_counter() - started)
        self.metrics.reconcile_total.labels(key.name, "success" if ok else "failure").inc()
        if ok:
            self.queue.forget(key)
        elif not self.queue.retry(key):
            log.warning(
                "retries used up; waiting for a new generation or the next resync", extra=context
            )

    def _every(self, seconds: float, action: Callable[[], object]) -> None:
        while not self._stop.wait(seconds):
            if not self.leadership.is_leader():
                continue
            try:
                action()
            except NotLeader:
                continue  # the lease went while the task ran; the next leader runs it
            except Exception:
                log.exception(
                    "periodic task failed", extra={"task": threading.current_thread().name}
                )

    def _started_leading(self) -> None:
        self.metrics.leader.set(1)
        self.resync()

    def _stopped_leading(self) -> None:
        self.metrics.leader.set(0)


def _needs_reconcile(old: KubeObject | None, new: KubeObject | None) -> bool:
    """Added, deleted, a new generation, or deletion requested: not a status write."""
    if old is None or new is None:
        return True
    if generation(old) != generation(new):
        return True
    return bool(old["metadata"].get("deletionTimestamp")) != bool(
        new["metadata"].get("deletionTimestamp")
    )


def _version(obj: KubeObject) -> str | None:
    version: str | None = obj["metadata"].get("resourceVersion")
    return version
