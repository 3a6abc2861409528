"""In-memory stand-ins for what sits behind the controller's Protocols: the cluster side the
reconciler writes to and the three provisioners. Each counts its writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from controller.conditions import Transition
from controller.machinery.cache import ObjectCache
from controller.machinery.objects import KubeObject, ObjectKey
from controller.provisioners.interfaces import (
    AuthCredentials,
    BucketDropResult,
    DatabaseEndpoint,
    ProvisionerError,
)
from plattr.labels import FINALIZER
from plattr.models import Bucket, IdentityProvider
from plattr.naming import Target


class FakeCluster:
    """The `Cluster` Protocol over dicts; finalizer and status writes go to the cache, as
    the real one's write-through does."""

    def __init__(self, cache: ObjectCache) -> None:
        self.cache = cache
        self.secrets: dict[tuple[str, str], dict[str, str]] = {}
        self.config_maps: dict[tuple[str, str], dict[str, str]] = {}
        self.deployments: dict[tuple[str, str], KubeObject] = {}
        self.events: list[tuple[ObjectKey, Transition]] = []
        self.deleted_namespaces: list[str] = []
        self.namespace_error: Exception | None = None
        """Raised by `delete_preview_namespace` when set."""
        self.writes = 0

    def secret(self, namespace: str, name: str) -> dict[str, str] | None:
        return self.secrets.get((namespace, name))

    def config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        return self.config_maps.get((namespace, name))

    def _apply(
        self,
        store: dict[tuple[str, str], dict[str, str]],
        where: tuple[str, str],
        data: Mapping[str, str],
    ) -> bool:
        if store.get(where) == dict(data):
            return False
        store[where] = dict(data)
        self.writes += 1
        return True

    def apply_secret(
        self, namespace: str, name: str, data: Mapping[str, str], labels: Mapping[str, str]
    ) -> bool:
        return self._apply(self.secrets, (namespace, name), data)

    def apply_config_map(
        self, namespace: str, name: str, data: Mapping[str, str], labels: Mapping[str, str]
    ) -> bool:
        return self._apply(self.config_maps, (namespace, name), data)

    def delete_secret(self, namespace: str, name: str) -> bool:
        return self.secrets.pop((namespace, name), None) is not None

    def delete_config_map(self, namespace: str, name: str) -> bool:
        return self.config_maps.pop((namespace, name), None) is not None

    def deployment(self, namespace: str, name: str) -> KubeObject | None:
        return self.deployments.get((namespace, name))

    def _update(self, key: ObjectKey, change: dict[str, Any]) -> None:
        obj = self.cache.get(key)
        assert obj is not None
        version = str(int(obj["metadata"]["resourceVersion"]) + 1)
        updated = {**obj, **change}
        updated["metadata"] = {**updated["metadata"], "resourceVersion": version}
        self.cache.put(key, updated)
        self.writes += 1

    def set_finalizer(self, key: ObjectKey, resource_version: str, *, present: bool) -> None:
        obj = self.cache.get(key)
        assert obj is not None
        others = [f for f in obj["metadata"].get("finalizers", []) if f != FINALIZER]
        finalizers = [*others, FINALIZER] if present else others
        self._update(key, {"metadata": {**obj["metadata"], "finalizers": finalizers}})

    def write_status(self, key: ObjectKey, status: Mapping[str, Any]) -> None:
        self._update(key, {"status": dict(status)})

    def record(self, key: ObjectKey, uid: str, event: Transition) -> None:
        self.events.append((key, event))

    def delete_preview_namespace(self, name: str) -> bool:
        if self.namespace_error is not None:
            raise self.namespace_error
        self.deleted_namespaces.append(name)
        return True

    def delete(self, key: ObjectKey) -> bool:
        return self.cache.remove(key) is not None


class FakeDatabase:
    """Roles keyed by login role, holding their password; `fail_with` makes calls fail."""

    def __init__(self) -> None:
        self.roles: dict[str, str] = {}
        self.fail_with: ProvisionerError | None = None
        self.writes = 0
        self.ensures = 0

    def endpoint(self) -> DatabaseEndpoint:
        return DatabaseEndpoint("db.internal", 5432, "plattr")

    def ensure(self, target: Target, password: str, *, reset_password: bool) -> bool:
        self.ensures += 1
        if self.fail_with:
            raise self.fail_with
        if target.login_role in self.roles and not reset_password:
            return False
        if self.roles.get(target.login_role) == password:
            return False
        self.roles[target.login_role] = password
        self.writes += 1
        return True

    def drop(self, target: Target) -> bool:
        return self.roles.pop(target.login_role, None) is not None


class FakeStorage:
    def __init__(self) -> None:
        self.buckets: dict[str, int] = {}
        """Real bucket name → number of objects."""
        self.writes = 0
        self.ensures = 0

    def ensure(self, target: Target, buckets: Sequence[Bucket]) -> tuple[dict[str, str], bool]:
        self.ensures += 1
        names = {bucket.name: target.bucket("test", bucket.name) for bucket in buckets}
        missing = [name for name in names.values() if name not in self.buckets]
        for name in missing:
            self.buckets[name] = 0
            self.writes += 1
        return names, bool(missing)

    def drop(
        self, target: Target, buckets: Sequence[str], *, empty_first: bool
    ) -> BucketDropResult:
        result = BucketDropResult(deleted=[], non_empty=[])
        for logical in buckets:
            name = target.bucket("test", logical)
            if name not in self.buckets:
                continue
            if self.buckets[name] and not empty_first:
                result.non_empty.append(name)
                continue
            del self.buckets[name]
            result.deleted.append(name)
        return result


class FakeAuth:
    def __init__(self) -> None:
        self.realms: dict[str, list[str]] = {}
        self.writes = 0
        self.ensures = 0

    def ensure(
        self, target: Target, providers: Sequence[IdentityProvider], redirect_uris: Sequence[str]
    ) -> tuple[AuthCredentials, bool]:
        self.ensures += 1
        changed = self.realms.get(target.realm) != list(redirect_uris)
        if changed:
            self.realms[target.realm] = list(redirect_uris)
            self.writes += 1
        issuer = f"https://keycloak.internal/realms/{target.realm}"
        return AuthCredentials(issuer, target.client_id, "client-secret"), changed

    def drop(self, target: Target) -> bool:
        return self.realms.pop(target.realm, None) is not None


def application(
    name: str = "shop",
    *,
    environment: str = "staging",
    generation: int = 1,
    resource_version: str = "1",
    database: bool = True,
    storage: bool = True,
    auth: bool = True,
    **spec: Any,
) -> KubeObject:
    body: dict[str, Any] = {
        "framework": "python",
        "environment": environment,
        "imageRef": "registry.example.com/shop:1.0.0",
        "database": {"enabled": database},
        "storage": {"enabled": storage, "buckets": [{"name": "uploads"}]} if storage else {},
        "auth": {"enabled": auth},
        **spec,
    }
    return {
        "apiVersion": "platform.internal/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": environment,
            "generation": generation,
            "resourceVersion": resource_version,
            "uid": f"uid-{name}",
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": body,
    }


def preview(ttl: str = "2h") -> KubeObject:
    return {
        "apiVersion": "platform.internal/v1alpha1",
        "kind": "PreviewEnvironment",
        "metadata": {
            "name": "shop-pr-7",
            "namespace": "preview-shop-pr-7",
            "generation": 1,
            "resourceVersion": "1",
            "uid": "uid-preview",
            "creationTimestamp": "2026-01-01T10:00:00Z",
        },
        "spec": {
            "application": "shop",
            "pullRequest": 7,
            "imageRef": "registry.example.com/shop:pr-7",
            "ttl": ttl,
            "database": {"enabled": True},
        },
    }


def ready_deployment(name: str = "shop", replicas: int = 2) -> KubeObject:
    return {
        "metadata": {"name": name, "generation": 3},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": 3,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "availableReplicas": replicas,
        },
    }
