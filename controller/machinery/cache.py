"""An in-memory copy of every watched object, filled by the reflectors.

Readers (reconciles, HTTP handlers) read from it instead of the API server, on standby
replicas too. Objects are the API server's JSON as dicts and are never mutated in place: a
new version replaces the old one. An object of a kind the cache was given is stored
`trimmed` to what its readers look at (memory grows with every app: no managedFields, no
last-applied copy, only the fields its `ApiResource.kept` names). Whatever it holds (Secrets
included) any reader can see: what may be served to whom is for the readers to decide.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from controller.machinery.objects import ApiResource, KubeObject, ObjectKey, trimmed

Listener = Callable[[ObjectKey], None]
"""Told the key of every object that was stored, replaced or removed (after the change)."""


class ObjectCache:
    def __init__(self, kinds: Iterable[ApiResource] = ()) -> None:
        """`kinds`: the resources whose objects are stored trimmed (others as they come)."""
        self._kept = {kind.name: kind.kept for kind in kinds}
        self._lock = threading.Lock()
        self._objects: dict[str, dict[ObjectKey, KubeObject]] = {}
        self._synced: set[str] = set()
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(key)` after every change, on the writer's thread: keep it quick."""
        with self._lock:
            self._listeners = [*self._listeners, listener]

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners = [known for known in self._listeners if known != listener]

    def _changed(self, keys: Iterable[ObjectKey]) -> None:
        listeners = self._listeners
        for key in keys:
            for listener in listeners:
                listener(key)

    def get(self, key: ObjectKey) -> KubeObject | None:
        with self._lock:
            return self._objects.get(key.kind, {}).get(key)

    def objects(self, kind: str, namespace: str | None = None) -> list[KubeObject]:
        """Every cached object of `kind` (in `namespace` if given), in no particular order."""
        with self._lock:
            objects = list(self._objects.get(kind, {}).items())
        return [obj for key, obj in objects if namespace is None or key.namespace == namespace]

    def keys(self, kind: str) -> list[ObjectKey]:
        with self._lock:
            return list(self._objects.get(kind, {}))

    def put(self, key: ObjectKey, obj: KubeObject) -> KubeObject | None:
        """Store `obj` (trimmed); returns the version it replaced."""
        obj = self._trim(key.kind, obj)
        with self._lock:
            bucket = self._objects.setdefault(key.kind, {})
            old = bucket.get(key)
            bucket[key] = obj
        self._changed((key,))
        return old

    def remove(self, key: ObjectKey) -> KubeObject | None:
        with self._lock:
            old = self._objects.get(key.kind, {}).pop(key, None)
        self._changed((key,))
        return old

    def replace(
        self,
        kind: str,
        objects: Iterable[tuple[ObjectKey, KubeObject]],
        namespace: str | None = None,
    ) -> list[tuple[ObjectKey, KubeObject | None, KubeObject | None]]:
        """Make `kind` (in `namespace`, or everywhere) hold exactly `objects`, a fresh list;
        returns each difference as (key, old, new) so that no change made while the watch
        was down goes unnoticed."""
        fresh = {key: self._trim(kind, obj) for key, obj in objects}
        with self._lock:
            bucket = self._objects.setdefault(kind, {})
            old = {
                key: obj
                for key, obj in bucket.items()
                if namespace is None or key.namespace == namespace
            }
            for key in old:
                del bucket[key]
            bucket.update(fresh)
            self._synced.add(kind if namespace is None else f"{kind}/{namespace}")
        changes: list[tuple[ObjectKey, KubeObject | None, KubeObject | None]] = [
            (key, old.get(key), obj)
            for key, obj in fresh.items()
            if _version(old.get(key)) != _version(obj)
        ]
        changes += [(key, obj, None) for key, obj in old.items() if key not in fresh]
        self._changed(key for key, _, _ in changes)
        return changes

    def synced(self, scopes: Iterable[str]) -> bool:
        """Whether every scope (`Kind` or `Kind/namespace`) has been listed at least once."""
        with self._lock:
            return all(scope in self._synced for scope in scopes)

    def _trim(self, kind: str, obj: KubeObject) -> KubeObject:
        return trimmed(obj, self._kept[kind]) if kind in self._kept else obj

    def count(self, kind: str) -> int:
        with self._lock:
            return len(self._objects.get(kind, {}))


def _version(obj: KubeObject | None) -> str | None:
    return None if obj is None else obj["metadata"].get("resourceVersion")
