"""Server-side apply with the admin's dynamic client, as one field manager for every test, so
a test can apply what another applied before it (conflicts are forced)."""

from __future__ import annotations

from typing import Any

from kubernetes.dynamic import DynamicClient

FIELD_MANAGER = "plattr-tests"


def apply(client: DynamicClient, manifest: dict[str, Any], *, dry_run: bool = False) -> Any:
    """Apply `manifest` (`dry_run`: admission runs, nothing is stored); the object as stored."""
    resource = client.resources.get(api_version=manifest["apiVersion"], kind=manifest["kind"])
    return resource.server_side_apply(
        body=manifest,
        name=manifest["metadata"]["name"],
        namespace=manifest["metadata"].get("namespace"),
        field_manager=FIELD_MANAGER,
        force_conflicts=True,
        **({"dry_run": "All"} if dry_run else {}),
    )
