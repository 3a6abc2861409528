"""The labels and the finalizer that tie Plattr's parts together, defined once.

The renderer writes them on every object it emits; the controller selects, owns and guards by
them. A change here changes both sides at once, and `tests/unit/test_labels.py` renders an app
and checks that the controller's selectors and guards match what came out.

Three different things are "managed by" someone, and each has its own name here:

- `RENDERED_BY`: `app.kubernetes.io/managed-by` on what the renderer emits (and Argo CD
  applies); the controller watches Deployments with this value.
- `PROVISIONED_BY`: the same label on the Secrets and ConfigMaps the controller writes; the
  controller watches and owns only those.
- `plattr.labels.BUCKET_TAG_*`: the S3 tag that marks a bucket as one of ours (AWS tags, not
  Kubernetes labels, but the same idea: never touch a bucket that is not).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from plattr.models import GROUP
from plattr.naming import PREVIEW_NAMESPACE_PREFIX

NAME_LABEL: Final = "app.kubernetes.io/name"
"""The app's name (the same in every environment and preview)."""
INSTANCE_LABEL: Final = "app.kubernetes.io/instance"
"""The app's instance: its name, or `<app>-pr-<n>` for a preview."""
PART_OF_LABEL: Final = "app.kubernetes.io/part-of"
PART_OF: Final = "plattr"
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
RENDERED_BY: Final = "plattr"
"""`MANAGED_BY_LABEL` on every object the renderer emits."""
PROVISIONED_BY: Final = "plattr-controller"
"""`MANAGED_BY_LABEL` on the Secrets and ConfigMaps the controller writes."""

ENVIRONMENT_LABEL: Final = f"{GROUP}/environment"
"""The environment (`production`, ...) or preview (`pr-<n>`) an object belongs to."""
PREVIEW_LABEL: Final = f"{GROUP}/preview"
PREVIEW_VALUE: Final = "true"
"""`PREVIEW_LABEL`'s value on every object of a preview, its Namespace included."""

OWNER_KIND_LABEL: Final = f"{GROUP}/owner-kind"
OWNER_NAME_LABEL: Final = f"{GROUP}/owner-name"
OWNER_NAMESPACE_LABEL: Final = f"{GROUP}/owner-namespace"
"""On a controller-written Secret or ConfigMap: the resource it serves (which may live in
another namespace: a preview's Secrets live in the preview's namespace)."""

FINALIZER: Final = f"{GROUP}/finalizer"
"""Held on an Application or PreviewEnvironment until its external resources are released."""

BUCKET_TAG_MANAGED_BY: Final = ("managed-by", "plattr")
"""The S3 tag (key, value) on every bucket the controller created."""

RENDERED_SELECTOR: Final = f"{MANAGED_BY_LABEL}={RENDERED_BY}"
"""The label selector that finds what the renderer emitted (the controller's Deployment watch)."""
PROVISIONED_SELECTOR: Final = f"{MANAGED_BY_LABEL}={PROVISIONED_BY}"
"""The label selector that finds what the controller wrote (its Secret and ConfigMap watches)."""


def is_preview_namespace(name: str, labels: Mapping[str, str]) -> bool:
    """Whether a Namespace is one the renderer made for a preview: the name prefix and the
    label, both. The controller deletes no other namespace."""
    return name.startswith(PREVIEW_NAMESPACE_PREFIX) and labels.get(PREVIEW_LABEL) == PREVIEW_VALUE
