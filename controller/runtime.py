"""The controller's moving parts, wired: reflectors fill the cache and feed the work queue,
workers reconcile while this replica leads, a resync re-queues everything periodically,
and the TTL sweep removes expired previews.

Secrets and ConfigMaps are watched in the namespaces the controller is granted them, not
cluster-wide: the declared environments' namespaces from the start (and any declared later), and
a preview's namespace from its PreviewEnvironment's arrival until its deletion.

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
from controller.environments_file import CHECK_SECONDS, WatchedEnvironments
from controller.kinds import (
    CLUSTER_WATCHED_KINDS,
    CONFIG_MAP,
    DEPLOYMENT,
    IDENTITY_PROVIDERS_SECRET,
    KEYCLOAK_ADMIN_SECRET,
    LEASE,
    NAMESPACE,
    NAMESPACE_WATCHED_KINDS,
    PLATFORM_SECRETS,
    PLATTR_KINDS,
    PREVIEW,
    SECRET,
    WATCHED_KINDS,
    platform_secret,
)
from controller.machinery.backoff import RetrySchedule
from controller.machinery.cache import ObjectCache
from controller.machinery.kube import Kube, KubeError
from controller.machinery.leader import LeaderElector, NotLeader
from controller.machinery.objects import ApiResource, KubeObject, ObjectKey, generation
from controller.machinery.reflector import Reflector
from controller.machinery.workqueue import WorkQueue
from controller.metrics import Metrics
from controller.provisioners import identity_providers
from controller.reconciler import Provisioners, Reconciler
from controller.subjects import prepare_models
from controller.sweep import TtlSweeper
from controller.verification import Verifications, offset
from plattr.environments import Environments, shipped
from plattr.naming import PREVIEW_NAMESPACE_PREFIX

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
    environments: Callable[[], Environments] = shipped


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
        self.cache = ObjectCache(
            [*WATCHED_KINDS, *(kind for kind, _ in platform_secrets(settings))]
        )
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
        self.environments = WatchedEnvironments(settings.environments_file)
        self._applied_environments = self.environments.current()
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
            environments=self.environments.current,
            verifications=Verifications(settings.verify_seconds),
        )
        self.sweeper = TtlSweeper(self.cache, self.cluster, metrics)
        self._kube, self._watch_seconds = kube, watch_seconds
        self._scoped: dict[str, threading.Event] = {}
        """The namespaces whose Secrets and ConfigMaps are watched, each with its watches' stop."""
        self._scoped_lock = threading.Lock()
        namespaces: tuple[str | None, ...] = settings.watch_namespaces or (None,)
        self.reflectors = [
            self._reflector(kind, namespace)
            for kind in CLUSTER_WATCHED_KINDS
            for namespace in namespaces
        ]
        for scope in settings.watch_namespaces or self._environment_namespaces():
            self.reflectors += self._watch_namespace(scope)
        for kind, namespace in platform_secrets(settings):
            self.reflectors.append(self._reflector(kind, namespace))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        metrics.queue_depth.set_function(lambda: len(self.queue))

    def _reflector(self, kind: ApiResource, namespace: str | None) -> Reflector:
        return Reflector(
            self._kube,
            kind,
            self.cache,
            self.handle_change,
            namespace,
            watch_seconds=self._watch_seconds,
        )

    def _environment_namespaces(self) -> list[str]:
        return [env.namespace_name for env in self.environments.current()]

    def _watch_namespace(self, namespace: str) -> list[Reflector]:
        """Reflectors of the Secrets and ConfigMaps of `namespace`; none if it has them."""
        with self._scoped_lock:
            if namespace in self._scoped:
                return []
            self._scoped[namespace] = threading.Event()
        return [self._reflector(kind, namespace) for kind in NAMESPACE_WATCHED_KINDS]

    def _stop_of(self, reflector: Reflector) -> threading.Event:
        with self._scoped_lock:
            return self._scoped.get(reflector.namespace or "", self._stop)

    def _start_watching(self, namespace: str) -> None:
        """Watch `namespace` from now on: a preview's, or an environment declared later."""
        for reflector in self._watch_namespace(namespace):
            self._run(f"reflector-{reflector.scope}", reflector.run, self._stop_of(reflector))

    def _stop_watching(self, namespace: str) -> None:
        """A preview is gone: its namespace's watches end and the cache forgets its objects."""
        with self._scoped_lock:
            stop = self._scoped.pop(namespace, None)
        if stop is None:
            return
        stop.set()
        ended = {f"reflector-{kind.name}/{namespace}" for kind in NAMESPACE_WATCHED_KINDS}
        self._threads = [thread for thread in self._threads if thread.name not in ended]
        for kind in NAMESPACE_WATCHED_KINDS:
            self.cache.replace(kind.name, [], namespace)

    def _follow_preview(self, namespace: str, *, present: bool) -> None:
        """A preview's namespace is watched while its PreviewEnvironment exists."""
        if not namespace.startswith(PREVIEW_NAMESPACE_PREFIX):
            return  # the reconciler refuses it; the controller has no grant there
        if present:
            self._start_watching(namespace)
        else:
            self._stop_watching(namespace)

    def _run(self, name: str, target: Callable[..., object], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    @property
    def view(self) -> ControllerView:
        return ControllerView(
            cache=self.cache,
            metrics=self.metrics,
            ready=self.ready,
            healthy=self.healthy,
            leading=self.leadership.is_leader,
            base_domain=self.settings.base_domain,
            environments=self.environments.current,
        )

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        prepare_models()  # before any thread decodes: see its docstring
        targets: list[tuple[str, Callable[[], None]]] = [
            (
                f"reflector-{reflector.scope}",
                functools.partial(reflector.run, self._stop_of(reflector)),
            )
            for reflector in self.reflectors
        ]
        if (elector := self.elector) is not None:
            targets.append(("leader-election", functools.partial(elector.run, self._stop)))
        else:
            self.metrics.leader.set(1)
        targets += [(f"worker-{n}", self._work) for n in range(self.settings.workers)]
        targets += [
            ("resync", lambda: self._every(self.settings.resync_seconds, self.spread_resync)),
            ("ttl-sweep", lambda: self._every(self.settings.ttl_sweep_seconds, self.sweeper.sweep)),
            ("environments", lambda: self._every(CHECK_SECONDS, self._apply_environments)),
        ]
        for name, target in targets:
            self._run(name, target)
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
        with self._scoped_lock:
            for stop in self._scoped.values():
                stop.set()
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

    def _apply_environments(self) -> None:
        """A changed declaration reaches every app at once: an app of a newly declared
        environment is provisioned, one of a removed environment is refused (and kept)."""
        current = self.environments.current()
        if current is not self._applied_environments:
            self._applied_environments = current
            if not self.settings.watch_namespaces:
                for namespace in self._environment_namespaces():
                    self._start_watching(namespace)
            self.resync()

    def spread_resync(self) -> None:
        """`resync`, each key held back by a stable offset within RESYNC_SECONDS: the
        periodic resync reconciles (and verifies) apps evenly, not all at once."""
        if not self.leadership.is_leader():
            return
        period = self.settings.resync_seconds
        for kind in PLATTR_KINDS:
            for key in self.cache.keys(kind.name):
                self.queue.add_after(key, offset(str(key), period))

    # --- events --------------------------------------------------------------------------

    def handle_change(self, key: ObjectKey, old: KubeObject | None, new: KubeObject | None) -> None:
        if old is not None and new is not None and _version(old) == _version(new):
            return  # the watch catching up with a write this controller already cached
        if key.kind == PREVIEW.name:
            self._follow_preview(key.namespace, present=new is not None)
        if key.kind in {kind.name for kind in PLATTR_KINDS}:
            if _needs_reconcile(old, new):
                self.queue.forget(key)  # a new generation gets a fresh set of retries
                self.queue.add(key)
            return
        obj = new or old
        if obj is None:
            return
        if key.kind in PLATFORM_SECRETS:
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
            if (owned := self.cache.get(owner)) is not None:
                if key.kind != DEPLOYMENT.name:  # what a provisioner made was changed: verify
                    self.reconciler.verifications.forget(owned["metadata"].get("uid", ""))
                self.queue.add(owner)

    def _retry_auth(self) -> None:
        """Keycloak's admin credentials or the identity providers' Secret appeared or
        changed: every subject asking for auth verifies its realm again, with a fresh set of
        retries (those that failed without them recover at once)."""
        self.reconciler.verifications.forget(provisioner="auth")
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


def platform_secrets(settings: Settings) -> list[tuple[ApiResource, str]]:
    """The platform Secrets to watch, with their namespaces: with auth on, the identity
    providers' Secret and (when KEYCLOAK_ADMIN_SECRET names one) Keycloak's admin Secret."""
    if settings.keycloak is None:
        return []
    watched = [
        (
            platform_secret(IDENTITY_PROVIDERS_SECRET, identity_providers.SECRET_NAME),
            identity_providers.SECRET_NAMESPACE,
        )
    ]
    if admin := settings.keycloak.admin_secret:
        watched.append((platform_secret(KEYCLOAK_ADMIN_SECRET, admin.name), admin.namespace))
    return watched


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
