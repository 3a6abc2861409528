"""Secrets and ConfigMaps are watched namespace by namespace, where the chart grants them (the
environments' namespaces, a preview's namespace while its PreviewEnvironment exists), never
cluster-wide: a list or watch of every Secret would need a cluster-wide grant."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any

from controller.machinery.objects import KubeObject, ObjectKey
from tests.unit.controller.test_runtime_events import controller

PREVIEW_NS = "preview-shop-pr-7"
PREVIEW_KEY = ObjectKey("PreviewEnvironment", PREVIEW_NS, "shop")


class ListingKube:
    """Lists nothing and ends every watch at once; remembers the paths listed."""

    def __init__(self) -> None:
        self.listed: set[str] = set()
        self.changed = threading.Condition()

    def list(self, path: str, query: Mapping[str, Any] | None = None) -> KubeObject:
        with self.changed:
            self.listed.add(path)
            self.changed.notify_all()
        return {"items": [], "metadata": {"resourceVersion": "1"}}

    def watch(self, path: str, query: Mapping[str, Any], seconds: int) -> Iterator[KubeObject]:
        return iter(())

    def wait_listed(self, path: str) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: path in self.listed, timeout=10), path


def test_secrets_and_config_maps_are_watched_in_the_environment_namespaces_only() -> None:
    scopes = {reflector.scope for reflector in controller().reflectors}
    assert scopes == {
        "Application",
        "PreviewEnvironment",
        "Deployment",
        *(
            f"{kind}/{ns}"
            for kind in ("Secret", "ConfigMap")
            for ns in ("production", "staging", "uat")
        ),
    }


def test_a_previews_namespace_is_watched_while_its_preview_exists() -> None:
    kube = ListingKube()
    c = controller(kube)
    preview = {"metadata": {"name": "shop", "namespace": PREVIEW_NS, "resourceVersion": "1"}}
    c.handle_change(PREVIEW_KEY, None, preview)
    for plural in ("secrets", "configmaps"):
        kube.wait_listed(f"/api/v1/namespaces/{PREVIEW_NS}/{plural}")
    watching = [t for t in c._threads if t.name.endswith(f"/{PREVIEW_NS}")]
    assert len(watching) == 2
    secret_key = ObjectKey("Secret", PREVIEW_NS, "shop-pr-7-db")
    c.cache.put(secret_key, {"metadata": {"name": secret_key.name, "namespace": PREVIEW_NS}})

    c.handle_change(PREVIEW_KEY, preview, None)
    for thread in watching:
        thread.join(timeout=10)
        assert not thread.is_alive()
    assert not [t for t in c._threads if t.name.endswith(f"/{PREVIEW_NS}")]
    assert c.cache.get(secret_key) is None
    c.stop(timeout=0)


def test_a_preview_environment_outside_a_preview_namespace_starts_no_watch() -> None:
    kube = ListingKube()
    c = controller(kube)
    key = ObjectKey("PreviewEnvironment", "kube-system", "shop")
    c.handle_change(key, None, {"metadata": {"name": "shop", "namespace": "kube-system"}})
    assert c._threads == []
