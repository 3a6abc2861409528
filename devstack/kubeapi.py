"""A minimal client for the few calls devstack makes itself (tests use the real
`kubernetes` client with the generated kubeconfig)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.errors import StackError

FIELD_MANAGER = "devstack"
# (apiVersion, kind) -> collection path, for the kinds devstack applies ({namespace}: namespaced)
_COLLECTIONS = {
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): (
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    ),
    ("v1", "Namespace"): "/api/v1/namespaces",
    ("v1", "Node"): "/api/v1/nodes",
    ("v1", "ConfigMap"): "/api/v1/namespaces/{namespace}/configmaps",
    ("v1", "Secret"): "/api/v1/namespaces/{namespace}/secrets",
    ("v1", "ResourceQuota"): "/api/v1/namespaces/{namespace}/resourcequotas",
    ("v1", "LimitRange"): "/api/v1/namespaces/{namespace}/limitranges",
    (
        "argoproj.io/v1alpha1",
        "AppProject",
    ): "/apis/argoproj.io/v1alpha1/namespaces/{namespace}/appprojects",
    ("argoproj.io/v1alpha1", "ApplicationSet"): (
        "/apis/argoproj.io/v1alpha1/namespaces/{namespace}/applicationsets"
    ),
}

Object = dict[str, Any]


@dataclass(frozen=True)
class KubeAPI:
    url: str
    token: str = field(repr=False)
    ca_file: Path

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def request(self, method: str, path: str, body: Object | None = None) -> Object:
        content_type = "application/apply-patch+yaml" if method == "PATCH" else "application/json"
        request = urllib.request.Request(  # noqa: S310 (the local API server)
            self.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": content_type},
        )
        context = self.ssl_context()
        try:
            with urllib.request.urlopen(request, timeout=30, context=context) as response:  # noqa: S310
                answer: Object = json.load(response)
                return answer
        except urllib.error.HTTPError as exc:
            raise StackError(f"{method} {path}: {exc.code} {_status_message(exc)}") from exc

    def get(self, path: str) -> Object | None:
        """The object at path, or None when it does not exist."""
        try:
            return self.request("GET", path)
        except StackError as exc:
            if isinstance(exc.__cause__, urllib.error.HTTPError) and exc.__cause__.code == 404:
                return None
            raise

    def apply(self, obj: Object) -> Object:
        """Server-side apply of an object of a kind devstack knows."""
        key = (obj.get("apiVersion", ""), obj.get("kind", ""))
        if key not in _COLLECTIONS:
            raise StackError(f"devstack cannot apply {key[1]} ({key[0]}): not a kind it knows")
        metadata = obj["metadata"]
        collection = _COLLECTIONS[key].format(namespace=metadata.get("namespace", "default"))
        path = f"{collection}/{metadata['name']}"
        return self.request("PATCH", f"{path}?fieldManager={FIELD_MANAGER}&force=true", obj)


def _status_message(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.load(exc).get("message", exc.reason))
    except ValueError:
        return str(exc.reason)


def condition_true(obj: Object | None, kind: str) -> bool:
    conditions = (obj or {}).get("status", {}).get("conditions") or []
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)
