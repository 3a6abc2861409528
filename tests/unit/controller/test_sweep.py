"""The TTL sweep deletes expired previews, records it, and touches nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

from controller.machinery.cache import ObjectCache
from controller.machinery.objects import ObjectKey
from controller.metrics import Metrics
from controller.sweep import TtlSweeper
from tests.support.controller_fakes import FakeCluster, application, preview


def sweep_at(
    now: datetime, *objects: tuple[ObjectKey, dict[str, object]]
) -> tuple[list[ObjectKey], FakeCluster]:
    cache = ObjectCache()
    for key, obj in objects:
        cache.put(key, obj)
    cluster = FakeCluster(cache)
    return TtlSweeper(cache, cluster, Metrics(), now=lambda: now).sweep(), cluster


PREVIEW_KEY = ObjectKey("PreviewEnvironment", "preview-shop-pr-7", "shop-pr-7")
APP_KEY = ObjectKey("Application", "staging", "shop")


def test_an_expired_preview_is_deleted_and_recorded() -> None:
    deleted, cluster = sweep_at(
        datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        (PREVIEW_KEY, preview("2h")),
        (APP_KEY, application()),
    )
    assert deleted == [PREVIEW_KEY]
    assert cluster.cache.get(APP_KEY) is not None
    assert [(key, event.reason) for key, event in cluster.events] == [(PREVIEW_KEY, "Expired")]


def test_a_live_preview_is_left_alone() -> None:
    deleted, cluster = sweep_at(
        datetime(2026, 1, 1, 11, 59, tzinfo=UTC), (PREVIEW_KEY, preview("2h"))
    )
    assert deleted == []
    assert cluster.events == []


def test_a_preview_already_being_deleted_is_not_deleted_again() -> None:
    obj = preview("1m")
    obj["metadata"]["deletionTimestamp"] = "2026-01-01T10:05:00Z"  # type: ignore[index]
    deleted, _ = sweep_at(datetime(2026, 1, 2, tzinfo=UTC), (PREVIEW_KEY, obj))
    assert deleted == []
