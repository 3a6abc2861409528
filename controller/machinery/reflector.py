"""List, then watch from the list's resourceVersion, forever, into the cache.

Every change reaches the handler exactly as (key, old, new): from the watch, or, after a
410 Gone or a broken connection, from the difference between the cache and a fresh list, so
no event is lost. Reconnects back off (capped, jittered); a watch that ends early without
events counts as a failure, so nothing busy-loops.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Final

from controller.machinery.backoff import Backoff
from controller.machinery.cache import ObjectCache
from controller.machinery.kube import Kube, KubeError
from controller.machinery.objects import ApiResource, KubeObject, ObjectKey

log = logging.getLogger(__name__)

Handler = Callable[[ObjectKey, KubeObject | None, KubeObject | None], None]
"""Called with (key, old, new) for every change; old None when added, new None when deleted."""

WATCH_SECONDS: Final = 300
LIST_PAGE: Final = 500


class ResourceGone(Exception):
    """The watch's resourceVersion is too old (410 Gone): list again."""


class Reflector:
    def __init__(
        self,
        kube: Kube,
        kind: ApiResource,
        cache: ObjectCache,
        handler: Handler,
        namespace: str | None = None,
        *,
        watch_seconds: int = WATCH_SECONDS,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kind = kind
        self.namespace = namespace
        self._kube = kube
        self._cache = cache
        self._handler = handler
        self._watch_seconds = watch_seconds
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._path = kind.collection(namespace)
        self._resource_version: str | None = None
        selectors = {"labelSelector": kind.label_selector, "fieldSelector": kind.field_selector}
        self._query: dict[str, str | int | bool] = {
            name: value for name, value in selectors.items() if value
        }

    @property
    def scope(self) -> str:
        return self.kind.name if self.namespace is None else f"{self.kind.name}/{self.namespace}"

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                if self._resource_version is None:
                    self._resource_version = self.list_once()
                healthy = self._watch(stop)
            except ResourceGone:
                log.info("watch expired, listing again", extra={"kind": self.kind.name})
                self._resource_version, healthy = None, False
            except KubeError as exc:
                if exc.gone:
                    self._resource_version = None
                log.warning(
                    "watch failed, reconnecting", extra={"kind": self.kind.name, "error": str(exc)}
                )
                healthy = False
            if healthy:
                self._backoff.reset()
            else:
                stop.wait(self._backoff.next())

    def list_once(self) -> str:
        """List every object (page by page) into the cache; returns the list's version."""
        items: list[KubeObject] = []
        query = {**self._query, "limit": LIST_PAGE}
        while True:
            page = self._kube.list(self._path, query)
            items += page.get("items") or []
            token = page["metadata"].get("continue")
            if not token:
                break
            query["continue"] = token
        keyed = [(ObjectKey.of(self.kind.name, obj), obj) for obj in items]
        for key, old, new in self._cache.replace(self.kind.name, keyed, self.namespace):
            self._notify(key, old, new)
        version: str = page["metadata"]["resourceVersion"]
        log.debug("listed", extra={"kind": self.kind.name, "count": len(items)})
        return version

    def _watch(self, stop: threading.Event) -> bool:
        """Apply events until the server ends the watch, remembering the last version seen;
        returns whether the watch was healthy (delivered events, or lasted its full term)."""
        started, events = self._clock(), 0
        query = {
            **self._query,
            "resourceVersion": self._resource_version or "",
            "allowWatchBookmarks": True,
        }
        for event in self._kube.watch(self._path, query, self._watch_seconds):
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                if obj.get("code") == 410:
                    raise ResourceGone
                raise KubeError(int(obj.get("code") or 0), str(obj.get("reason")), str(obj))
            self._resource_version = obj["metadata"]["resourceVersion"]
            events += 1
            if kind != "BOOKMARK":
                self._apply(kind, obj)
            if stop.is_set():
                break
        return events > 0 or self._clock() - started >= self._watch_seconds / 2

    def _apply(self, event_type: str | None, obj: KubeObject) -> None:
        key = ObjectKey.of(self.kind.name, obj)
        if event_type == "DELETED":
            self._notify(key, self._cache.remove(key), None)
        else:
            self._notify(key, self._cache.put(key, obj), obj)

    def _notify(self, key: ObjectKey, old: KubeObject | None, new: KubeObject | None) -> None:
        try:
            self._handler(key, old, new)
        except Exception:
            log.exception("event handler failed", extra={"kind": key.kind, "object": str(key)})
