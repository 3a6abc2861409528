"""Validate manifests as the API server would: built-in kinds against the Kubernetes
OpenAPI schema of the targeted version (kubernetes-validate), our kinds against the CRDs."""

from __future__ import annotations

from functools import cache
from typing import Any, Final

import jsonschema
import kubernetes_validate

from plattr.crd import all_crds

KUBERNETES_VERSION: Final = "1.31"
"""The minor the CDK app deploys (EKS 1.31) and the local stack runs."""


@cache
def _crd_schemas() -> dict[str, dict[str, Any]]:
    return {
        crd["spec"]["names"]["kind"]: crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        for crd in all_crds()
    }


def check_manifest(manifest: dict[str, Any]) -> None:
    """Raise if the API server would reject `manifest`'s shape."""
    schema = _crd_schemas().get(manifest["kind"])
    if manifest["apiVersion"].startswith("platform.internal/") and schema is not None:
        jsonschema.validate(manifest, schema)
    else:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
