"""What the reconciler reads and writes in Kubernetes, behind one Protocol.

`KubeCluster` reads from the cache (confirming with a live GET before acting on an absence
the cache may not have caught up with) and writes through the API, putting each object it
wrote back into the cache so that the next reconcile compares against what it just wrote.
Writes happen only when the desired object differs from the current one.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from controller.conditions import Transition, now_rfc3339
from controller.errors import PolicyRefusal
from controller.kinds import CONFIG_MAP, DEPLOYMENT, EVENT, NAMESPACE, SECRET
from controller.machinery.cache import ObjectCache
from controller.machinery.kube import Kube, KubeError
from controller.machinery.leader import NotLeader
from controller.machinery.objects import ApiResource, KubeObject, ObjectKey
from plattr.labels import FINALIZER, PREVIEW_LABEL, PREVIEW_VALUE, is_preview_namespace
from plattr.models import API_VERSION
from plattr.naming import PREVIEW_NAMESPACE_PREFIX

log = logging.getLogger(__name__)

COMPONENT: Final = "plattr-controller"
FORBIDDEN: Final = 403


class Cluster(Protocol):
    def secret(self, namespace: str, name: str) -> dict[str, str] | None:
        """The Secret's data, decoded, or None if there is no such Secret."""
        ...

    def config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        """The ConfigMap's data, or None if there is no such ConfigMap."""
        ...

    def apply_secret(
        self, namespace: str, name: str, data: Mapping[str, str], labels: Mapping[str, str]
    ) -> bool:
        """Create or update the Secret to hold exactly `data`; True if it wrote."""
        ...

    def apply_config_map(
        self, namespace: str, name: str, data: Mapping[str, str], labels: Mapping[str, str]
    ) -> bool: ...

    def delete_secret(self, namespace: str, name: str) -> bool: ...

    def delete_config_map(self, namespace: str, name: str) -> bool: ...

    def deployment(self, namespace: str, name: str) -> KubeObject | None: ...

    def set_finalizer(self, key: ObjectKey, resource_version: str, *, present: bool) -> None:
        """Add or remove our finalizer (conflicts raise, so a stale object is retried)."""
        ...

    def write_status(self, key: ObjectKey, status: Mapping[str, Any]) -> None:
        """Replace the object's status through the status subresource."""
        ...

    def record(self, key: ObjectKey, uid: str, event: Transition) -> None:
        """A Kubernetes Event about the object."""
        ...

    def delete_preview_namespace(self, name: str) -> bool:
        """Delete the namespace if, and only if, it is a preview namespace (label and name
        prefix); False if it was gone. Refuses (`PolicyRefusal`) anything else."""
        ...

    def delete(self, key: ObjectKey) -> bool: ...


class KubeCluster:
    def __init__(
        self,
        kube: Kube,
        cache: ObjectCache,
        kinds: Mapping[str, ApiResource],
        may_write: Callable[[], bool] = lambda: True,
    ) -> None:
        self._kube = kube
        self._cache = cache
        self._kinds = kinds
        self._may_write = may_write

    def _writer(self) -> Kube:
        """The client, for a write; refused once this replica is no longer the leader, so
        a leader frozen mid-reconcile and woken after losing its lease writes nothing."""
        if not self._may_write():
            raise NotLeader("this replica lost the leader lease; write skipped")
        return self._kube

    def _current(self, kind: ApiResource, namespace: str, name: str) -> KubeObject | None:
        key = ObjectKey(kind.name, namespace, name)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        live = self._kube.get(kind.item(namespace, name))  # the watch may lag our own create
        if live is not None:
            self._cache.put(key, live)
        return live

    def secret(self, namespace: str, name: str) -> dict[str, str] | None:
        current = self._current(SECRET, namespace, name)
        if current is None:
            return None
        return {key: base64.b64decode(value).decode() for key, value in _data(current).items()}

    def config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        current = self._current(CONFIG_MAP, namespace, name)
        return None if current is None else _data(current)

    def apply_secret(
        self, namespace: str, name: str, data: Mapping[str, str], labels: Mapping[str, str]
    ) -> bool:
        encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
        return self._apply(
            SECRET, namespace, name, data=encoded, labels=labels, extra={"type": "Opaque"}
        )

    def apply_config_map(
        self, namespace: str, name: str, data: Mapping[str, str], labels: Mapping[str, str]
    ) -> bool:
        return self._apply(CONFIG_MAP, namespace, name, data=dict(data), labels=labels, extra={})

    def _apply(
        self,
        kind: ApiResource,
        namespace: str,
        name: str,
        *,
        data: dict[str, str],
        labels: Mapping[str, str],
        extra: KubeObject,
    ) -> bool:
        current = self._current(kind, namespace, name)
        key = ObjectKey(kind.name, namespace, name)
        if current is None:
            body = {
                "apiVersion": "v1",
                "kind": kind.name,
                "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
                "data": data,
                **extra,
            }
            self._cache.put(key, self._writer().create(kind.collection(namespace), body))
            return True
        current_labels = current["metadata"].get("labels") or {}
        stale_labels = {k: v for k, v in labels.items() if current_labels.get(k) != v}
        old_data = _data(current)
        if old_data == data and not stale_labels:
            return False
        patch: KubeObject = {
            "metadata": {
                "labels": stale_labels,
                "resourceVersion": current["metadata"]["resourceVersion"],
            },
            "data": {**dict.fromkeys(old_data), **data},
        }
        self._cache.put(key, self._writer().merge_patch(kind.item(namespace, name), patch))
        return True

    def delete_secret(self, namespace: str, name: str) -> bool:
        return self.delete(ObjectKey(SECRET.name, namespace, name))

    def delete_config_map(self, namespace: str, name: str) -> bool:
        return self.delete(ObjectKey(CONFIG_MAP.name, namespace, name))

    def delete(self, key: ObjectKey) -> bool:
        kind = self._kinds[key.kind]
        location = kind.item(key.namespace, key.name)
        try:
            if self._cache.get(key) is None and self._kube.get(location) is None:
                return False  # read before delete: a no-op teardown makes no write
            self._cache.remove(key)
            return self._writer().delete(location)
        except KubeError as exc:
            if exc.status == FORBIDDEN and self._namespace_going(key.namespace):
                self._cache.remove(key)
                return False  # its namespace's deletion takes it (and took our grant there)
            raise

    def _namespace_going(self, name: str) -> bool:
        """The namespace is gone or being deleted: a preview's, whose RoleBinding, the
        controller's grant there, goes with it before the teardown is done."""
        namespace = self._kube.get(f"{NAMESPACE.collection()}/{name}")
        return namespace is None or bool(namespace["metadata"].get("deletionTimestamp"))

    def deployment(self, namespace: str, name: str) -> KubeObject | None:
        return self._cache.get(ObjectKey(DEPLOYMENT.name, namespace, name))

    def set_finalizer(self, key: ObjectKey, resource_version: str, *, present: bool) -> None:
        kind = self._kinds[key.kind]
        current = self._cache.get(key)
        finalizers = list((current or {}).get("metadata", {}).get("finalizers") or [])
        wanted = [f for f in finalizers if f != FINALIZER] + ([FINALIZER] if present else [])
        patch = {"metadata": {"finalizers": wanted, "resourceVersion": resource_version}}
        updated = self._writer().merge_patch(kind.item(key.namespace, key.name), patch)
        self._cache.put(key, updated)

    def write_status(self, key: ObjectKey, status: Mapping[str, Any]) -> None:
        kind = self._kinds[key.kind]
        current = self._cache.get(key) or {}
        removed = dict.fromkeys(set(current.get("status") or {}) - set(status))
        path = kind.item(key.namespace, key.name) + "/status"
        updated = self._writer().merge_patch(path, {"status": {**removed, **status}})
        self._cache.put(key, updated)

    def record(self, key: ObjectKey, uid: str, event: Transition) -> None:
        now = now_rfc3339()
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{key.name}.", "namespace": key.namespace},
            "involvedObject": {
                "apiVersion": API_VERSION,
                "kind": key.kind,
                "name": key.name,
                "namespace": key.namespace,
                "uid": uid,
            },
            "type": event.type,
            "reason": event.reason,
            "message": event.message[:1024],
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            self._writer().create(EVENT.collection(key.namespace), body)
        except KubeError as exc:  # an Event is a courtesy: never fail a reconcile for one
            log.warning("could not record event", extra={"object": str(key), "error": str(exc)})

    def delete_preview_namespace(self, name: str) -> bool:
        namespace = self._kube.get(f"{NAMESPACE.collection()}/{name}")
        if namespace is None:
            return False
        metadata = namespace["metadata"]
        if not is_preview_namespace(name, metadata.get("labels") or {}):
            raise PolicyRefusal(
                f"namespace {name!r} is not a preview namespace (needs the "
                f"{PREVIEW_NAMESPACE_PREFIX!r} prefix and label "
                f"{PREVIEW_LABEL}={PREVIEW_VALUE}); left untouched"
            )
        if metadata.get("deletionTimestamp"):
            return True
        return self._writer().delete(f"{NAMESPACE.collection()}/{name}")


def _data(obj: KubeObject) -> dict[str, str]:
    data: dict[str, str] = obj.get("data") or {}
    return data
