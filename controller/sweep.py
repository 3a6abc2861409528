"""The TTL sweep: every `TTL_SWEEP_SECONDS` the leader deletes the PreviewEnvironments whose
`expiresAt` has passed. Deleting the resource hands the teardown to its finalizer (schema,
emptied buckets, realm, then the `preview-*` namespace). It looks only at
PreviewEnvironments, and only in namespaces that are previews by name and label."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from controller.cluster import Cluster
from controller.conditions import Transition
from controller.kinds import PREVIEW
from controller.machinery.cache import ObjectCache
from controller.machinery.objects import ObjectKey
from controller.metrics import Metrics
from controller.subjects import InvalidSubject, format_rfc3339, preview_subject
from plattr.naming import PREVIEW_NAMESPACE_PREFIX

log = logging.getLogger(__name__)


class TtlSweeper:
    def __init__(
        self,
        cache: ObjectCache,
        cluster: Cluster,
        metrics: Metrics,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._cache = cache
        self._cluster = cluster
        self._metrics = metrics
        self._now = now

    def sweep(self) -> list[ObjectKey]:
        """Delete every expired preview; returns the ones it deleted."""
        now, deleted = self._now(), []
        for key in self._cache.keys(PREVIEW.name):
            obj = self._cache.get(key)
            if obj is None or obj["metadata"].get("deletionTimestamp"):
                continue
            try:
                subject = preview_subject(key, obj)
            except InvalidSubject:
                continue  # the reconciler reports it; an unreadable TTL is no reason to delete
            if subject.expires_at is None or subject.expires_at > now:
                continue
            if not subject.target.namespace.startswith(PREVIEW_NAMESPACE_PREFIX):
                log.error("not a preview namespace, skipped", extra={"object": str(key)})
                continue
            expired = format_rfc3339(subject.expires_at)
            self._cluster.record(
                key, subject.uid, Transition("Normal", "Expired", f"TTL ran out at {expired}")
            )
            if self._cluster.delete(key):
                self._metrics.previews_expired.inc()
                deleted.append(key)
                log.info(
                    "preview expired, deleted",
                    extra={
                        "app": subject.target.app,
                        "namespace": subject.target.namespace,
                        "expires_at": expired,
                    },
                )
        return deleted
