"""The Kubernetes side of a reconcile: writes only on a difference, none once the lease is
lost, and no namespace deleted unless it is a preview's."""

from __future__ import annotations

from typing import Any

import pytest

from controller.cluster import KubeCluster
from controller.errors import PolicyRefusal
from controller.machinery.cache import ObjectCache
from controller.machinery.kube import KubeError
from controller.machinery.leader import NotLeader
from controller.machinery.objects import KubeObject
from controller.runtime import KINDS_BY_NAME


class RecordingKube:
    """Answers GETs from `objects` (by path), refuses those under `forbidden` (403), and
    records every write."""

    def __init__(
        self, objects: dict[str, KubeObject] | None = None, forbidden: str | None = None
    ) -> None:
        self.objects = objects or {}
        self.forbidden = forbidden
        self.writes: list[tuple[str, str]] = []

    def get(self, path: str) -> KubeObject | None:
        if self.forbidden and path.startswith(self.forbidden):
            raise KubeError(403, "Forbidden", f"{path} is forbidden")
        return self.objects.get(path)

    def create(self, path: str, body: KubeObject) -> KubeObject:
        self.writes.append(("POST", path))
        return {**body, "metadata": {**body["metadata"], "resourceVersion": "1"}}

    def merge_patch(self, path: str, body: KubeObject) -> KubeObject:
        self.writes.append(("PATCH", path))
        return body

    def delete(self, path: str) -> bool:
        self.writes.append(("DELETE", path))
        return True


def cluster(kube: RecordingKube, *, leading: bool = True) -> KubeCluster:
    return KubeCluster(kube, ObjectCache(), KINDS_BY_NAME, may_write=lambda: leading)  # type: ignore[arg-type]


LABELS = {"app.kubernetes.io/managed-by": "plattr-controller"}


def test_a_secret_is_written_once_and_then_left_alone() -> None:
    kube = RecordingKube()
    side = cluster(kube)
    assert side.apply_secret("staging", "shop-db", {"PGUSER": "shop"}, LABELS)
    assert not side.apply_secret("staging", "shop-db", {"PGUSER": "shop"}, LABELS)
    assert kube.writes == [("POST", "/api/v1/namespaces/staging/secrets")]
    assert side.secret("staging", "shop-db") == {"PGUSER": "shop"}


def test_nothing_is_written_once_the_lease_is_lost() -> None:
    kube = RecordingKube()
    with pytest.raises(NotLeader, match="lost the leader lease"):
        cluster(kube, leading=False).apply_secret("staging", "shop-db", {"PGUSER": "x"}, LABELS)
    assert kube.writes == []


def namespace(name: str, labels: dict[str, str], **metadata: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels, **metadata}}


PREVIEW_NS = "/api/v1/namespaces/preview-shop-pr-7"


def test_a_secret_of_a_namespace_being_deleted_is_left_to_the_namespace() -> None:
    """A preview's teardown runs while Argo CD deletes its namespace, whose RoleBinding (the
    controller's grant there) may already be gone: its Secrets go with the namespace."""
    terminating = namespace("preview-shop-pr-7", {}, deletionTimestamp="2026-01-01T00:00:00Z")
    kube = RecordingKube({PREVIEW_NS: terminating}, forbidden=f"{PREVIEW_NS}/secrets")
    assert not cluster(kube).delete_secret("preview-shop-pr-7", "shop-pr-7-db")
    assert kube.writes == []


def test_a_forbidden_secret_of_a_live_namespace_is_an_error() -> None:
    kube = RecordingKube(
        {"/api/v1/namespaces/staging": namespace("staging", {})},
        "/api/v1/namespaces/staging/secrets",
    )
    with pytest.raises(KubeError, match="forbidden"):
        cluster(kube).delete_secret("staging", "shop-db")


def test_only_a_labelled_preview_namespace_is_deleted() -> None:
    preview = namespace("preview-shop-pr-7", {"platform.internal/preview": "true"})
    impostor = namespace("preview-other-pr-1", {})
    kube = RecordingKube(
        {
            "/api/v1/namespaces/preview-shop-pr-7": preview,
            "/api/v1/namespaces/preview-other-pr-1": impostor,
            "/api/v1/namespaces/production": namespace(
                "production", {"platform.internal/preview": "true"}
            ),
        }
    )
    side = cluster(kube)
    assert side.delete_preview_namespace("preview-shop-pr-7")
    for refused in ("preview-other-pr-1", "production"):
        with pytest.raises(PolicyRefusal, match="not a preview namespace"):
            side.delete_preview_namespace(refused)
    assert kube.writes == [("DELETE", "/api/v1/namespaces/preview-shop-pr-7")]
