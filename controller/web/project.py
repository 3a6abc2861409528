"""Cached Applications and PreviewEnvironments as the API's types (`plattr.api`).

Reads the raw objects leniently (an object the API server accepted always gets a card, even
one the controller could not decode). Each summary is kept until the object's
resourceVersion changes, and each kind's sorted list until the cache reports a change to
that kind, so a list request between changes costs no projection at all; after a change
only the changed objects are projected again (thousands of apps, one changing every few
tens of milliseconds, cost one summary and one sort each, not thousands of summaries).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Final, get_args

import msgspec

from controller.kinds import APPLICATION, PREVIEW
from controller.machinery.cache import ObjectCache
from controller.machinery.objects import KubeObject, ObjectKey
from controller.subjects import parse_rfc3339, preview_expiry
from controller.web.paging import Placed, SortKey
from plattr.api import (
    ApplicationDetail,
    ApplicationSummary,
    ConditionOut,
    EventOut,
    Phase,
    PreviewSummary,
    SpecSummary,
)
from plattr.environments import Environment, Environments, shipped
from plattr.models import Phase as ResourcePhase
from plattr.models import Scaling
from plattr.naming import PREVIEW_NAMESPACE_PREFIX, Target

PREVIEWS: Final = "previews"
"""The board's column for PreviewEnvironments (Applications have their spec.environment)."""
RESOURCE_PHASES: Final[tuple[str, ...]] = get_args(ResourcePhase)
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Projector:
    """Summaries of cached objects, memoised by (key, resourceVersion)."""

    def __init__(
        self,
        cache: ObjectCache,
        base_domain: str,
        argocd_url: str | None,
        environments: Callable[[], Environments] = shipped,
        clock: Clock = _utcnow,
    ) -> None:
        self.cache = cache
        self._base_domain = base_domain
        self._environments = environments
        self._argocd_url = argocd_url.rstrip("/") if argocd_url else None
        self._clock = clock
        self._lock = threading.Lock()
        self._building = threading.Lock()
        """Held while a list is rebuilt: one request rebuilds it, the others wait for it."""
        self._memo: dict[ObjectKey, tuple[str | None, ApplicationSummary]] = {}
        self._changes: dict[str, int] = {}
        self._dirty: dict[str, set[ObjectKey]] = {}
        """The keys changed since each kind's list was last built."""
        self._members: dict[str, dict[ObjectKey, ApplicationSummary]] = {}
        self._lists: dict[str, tuple[int, tuple[ApplicationSummary, ...]]] = {}
        cache.subscribe(self._changed)

    def _changed(self, key: ObjectKey) -> None:
        with self._lock:
            self._changes[key.kind] = self._changes.get(key.kind, 0) + 1
            self._dirty.setdefault(key.kind, set()).add(key)

    # --- lists -------------------------------------------------------------------------

    def applications(self) -> tuple[ApplicationSummary, ...]:
        """Sorted by app, environment (in the declaration's order) and namespace; the same
        tuple until a change."""
        return self._summaries(APPLICATION.name)

    def previews(self) -> list[PreviewSummary]:
        now = self._clock()
        return [
            _with_time_left(summary, now)
            for summary in self._summaries(PREVIEW.name)
            if isinstance(summary, PreviewSummary)
        ]

    def summary(self, key: ObjectKey) -> ApplicationSummary | None:
        obj = self.cache.get(key)
        if obj is None:
            return None
        found = self._summary(key, obj)
        if isinstance(found, PreviewSummary):
            return _with_time_left(found, self._clock())
        return found

    def detail(
        self, key: ObjectKey, events: tuple[EventOut, ...], events_error: str | None
    ) -> ApplicationDetail | None:
        obj = self.cache.get(key)
        summary = self.summary(key)
        if obj is None or summary is None:
            return None
        status = obj.get("status") or {}
        spec = obj.get("spec") or {}
        return ApplicationDetail(
            summary=summary,
            spec=_spec_summary(spec, self._environments().get(str(spec.get("environment")))),
            conditions=_conditions(status),
            secrets=tuple(sorted(str(name) for name in status.get("secrets") or [])),
            events=events,
            events_error=events_error,
            observed_generation=status.get("observedGeneration"),
            generation=obj["metadata"].get("generation"),
        )

    def sort_key(self) -> SortKey:
        """The lists' order: app, then environment in the declaration's order (undeclared
        ones after, by name), then namespace."""
        order = {name: n for n, name in enumerate(self._environments().names)}

        def key(item: Placed) -> tuple[str, int, str, str]:
            return (
                item.app,
                order.get(item.environment, len(order)),
                item.environment,
                item.namespace,
            )

        return key

    def _summaries(self, kind: str) -> tuple[ApplicationSummary, ...]:
        if (fresh := self._fresh(kind)) is not None:
            return fresh
        with self._building:  # under churn, concurrent requests would each rebuild the list
            if (fresh := self._fresh(kind)) is not None:
                return fresh
            return self._rebuild(kind)

    def _fresh(self, kind: str) -> tuple[ApplicationSummary, ...] | None:
        """The kind's sorted list if no change came since it was built."""
        with self._lock:
            known = self._lists.get(kind)
            changes = self._changes.get(kind, 0)
        return known[1] if known is not None and known[0] == changes else None

    def _rebuild(self, kind: str) -> tuple[ApplicationSummary, ...]:
        with self._lock:  # read before reading the cache: a later change counts
            changes = self._changes.get(kind, 0)
            dirty = self._dirty.pop(kind, set())
        members = self._members.get(kind)
        if members is None:
            members = self._members[kind] = {}
            dirty = set(self.cache.keys(kind))
        for key in dirty:
            obj = self.cache.get(key)
            if obj is None:
                members.pop(key, None)
                with self._lock:
                    self._memo.pop(key, None)
            else:
                members[key] = self._summary(key, obj)
        summaries = tuple(sorted(members.values(), key=self.sort_key()))
        with self._lock:
            self._lists[kind] = (changes, summaries)
        return summaries

    # --- one object ----------------------------------------------------------------------

    def _summary(self, key: ObjectKey, obj: KubeObject) -> ApplicationSummary:
        version = obj["metadata"].get("resourceVersion")
        with self._lock:
            known = self._memo.get(key)
        if known is not None and version is not None and known[0] == version:
            return known[1]
        summary = (
            self._preview(key, obj) if key.kind == PREVIEW.name else self._application(key, obj)
        )
        with self._lock:
            self._memo[key] = (version, summary)
        return summary

    def _application(self, key: ObjectKey, obj: KubeObject) -> ApplicationSummary:
        spec = obj.get("spec") or {}
        environment = str(spec.get("environment") or key.namespace)
        declared = self._environments().get(environment)
        return ApplicationSummary(
            kind="Application",
            environment=environment,
            image_ref=spec.get("imageRef"),
            **self._common(key, obj, declared.target(key.name) if declared else None),
        )

    def _preview(self, key: ObjectKey, obj: KubeObject) -> PreviewSummary:
        spec = obj.get("spec") or {}
        app = str(spec.get("application") or key.name)
        pull_request = spec.get("pullRequest")
        target = Target.preview(app, pull_request) if isinstance(pull_request, int) else None
        return PreviewSummary(
            kind="PreviewEnvironment",
            environment=PREVIEWS,
            image_ref=spec.get("imageRef"),
            pull_request=pull_request if isinstance(pull_request, int) else None,
            expires_at=_expires_at(obj),
            **self._common(key, obj, target, app=app),
        )

    def _common(
        self, key: ObjectKey, obj: KubeObject, target: Target | None, app: str | None = None
    ) -> dict[str, Any]:
        status = obj.get("status") or {}
        conditions = _conditions(status)
        url = status.get("url") or (f"https://{target.host(self._base_domain)}" if target else None)
        transitions = [c.last_transition_time for c in conditions if c.last_transition_time]
        return {
            "namespace": key.namespace,
            "name": key.name,
            "app": app or key.name,
            "phase": _phase(status.get("phase")),
            "message": status.get("message") or None,
            "url": url,
            "argocd_url": self._argocd_link(target),
            "failing": tuple(c for c in conditions if c.status != "True"),
            "updated_at": max(transitions, default=obj["metadata"].get("creationTimestamp")),
        }

    def _argocd_link(self, target: Target | None) -> str | None:
        """`<ARGOCD_URL>/applications/argocd/<name>`, named as the platform's ApplicationSets
        name them (charts/plattr/templates/argocd-*.yaml): `<env>-<app>`, or
        `preview-<app>-pr-<n>`."""
        if self._argocd_url is None or target is None:
            return None
        name = (
            f"{PREVIEW_NAMESPACE_PREFIX}{target.app}-{target.env}"
            if target.is_preview
            else f"{target.env}-{target.app}"
        )
        return f"{self._argocd_url}/applications/argocd/{name}"


def _phase(value: object) -> Phase:
    if value is None:
        return "Pending"
    return value if value in RESOURCE_PHASES else "Unknown"  # type: ignore[return-value]


def _conditions(status: dict[str, Any]) -> tuple[ConditionOut, ...]:
    found = []
    for raw in status.get("conditions") or []:
        state = raw.get("status")
        found.append(
            ConditionOut(
                type=str(raw.get("type", "")),
                status=state if state in ("True", "False") else "Unknown",
                reason=str(raw.get("reason", "")),
                message=str(raw.get("message", "")),
                last_transition_time=raw.get("lastTransitionTime"),
            )
        )
    return tuple(found)


def _replicas(spec: dict[str, Any], environment: Environment | None) -> tuple[Any, Any]:
    """The app's replicas as the renderer has them (the environment's defaults filled in);
    the spec's raw numbers when the spec does not decode or the environment is undeclared."""
    scaling = spec.get("scaling") or {}
    if environment is None:
        return scaling.get("min"), scaling.get("max")
    try:
        replicas = environment.replicas(msgspec.convert(scaling, Scaling))
    except msgspec.ValidationError:
        return scaling.get("min"), scaling.get("max")
    return replicas.min, replicas.max


def _spec_summary(spec: dict[str, Any], environment: Environment | None) -> SpecSummary:
    storage = spec.get("storage") or {}
    auth = spec.get("auth") or {}
    replicas_min, replicas_max = _replicas(spec, environment)
    return SpecSummary(
        framework=spec.get("framework"),
        image_ref=spec.get("imageRef"),
        repository=spec.get("repository"),
        database=bool((spec.get("database") or {}).get("enabled")),
        buckets=_names(storage.get("buckets")) if storage.get("enabled") else (),
        auth_providers=tuple(str(p) for p in auth.get("providers") or [])
        if auth.get("enabled")
        else (),
        replicas_min=replicas_min,
        replicas_max=replicas_max,
        deletion_policy=spec.get("deletionPolicy"),
    )


def _names(items: Iterable[Any] | None) -> tuple[str, ...]:
    return tuple(str(item.get("name")) for item in items or [] if isinstance(item, dict))


def _expires_at(obj: KubeObject) -> str | None:
    status = obj.get("status") or {}
    if status.get("expiresAt"):
        return str(status["expiresAt"])
    try:
        expiry = preview_expiry(obj, str((obj.get("spec") or {}).get("ttl", "72h")))
    except ValueError:
        return None
    return expiry.strftime("%Y-%m-%dT%H:%M:%SZ") if expiry else None


def _with_time_left(summary: PreviewSummary, now: datetime) -> PreviewSummary:
    if summary.expires_at is None:
        return summary
    try:
        seconds = int((parse_rfc3339(summary.expires_at) - now).total_seconds())
    except ValueError:
        return summary
    left = max(seconds, 0)
    return msgspec.structs.replace(summary, seconds_left=left, time_left=time_left(seconds))


def time_left(seconds: int) -> str:
    """`2d 4h`, `3h 10m`, `35m`, `<1m`, or `expired`."""
    if seconds <= 0:
        return "expired"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else "<1m"
