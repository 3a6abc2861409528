"""The resources Plattr's controller watches and writes, as `ApiResource`s: its own kinds,
and the built-in ones limited by label to what the renderer emitted or the controller wrote
(the selectors come from `plattr.labels`)."""

from __future__ import annotations

from typing import Final

from controller.machinery import leader
from controller.machinery.objects import ApiResource
from plattr.labels import PROVISIONED_SELECTOR, RENDERED_SELECTOR
from plattr.models import GROUP, VERSION

APPLICATION: Final = ApiResource("Application", f"/apis/{GROUP}/{VERSION}", "applications")
PREVIEW: Final = ApiResource(
    "PreviewEnvironment", f"/apis/{GROUP}/{VERSION}", "previewenvironments"
)
DEPLOYMENT: Final = ApiResource(
    "Deployment",
    "/apis/apps/v1",
    "deployments",
    RENDERED_SELECTOR,
    kept=(
        "spec.replicas",
        "status.availableReplicas",
        "status.updatedReplicas",
        "status.observedGeneration",
    ),
)
"""Cached for its rollout (`reconciler.deployment_condition`), not its pod template."""
SECRET: Final = ApiResource("Secret", "/api/v1", "secrets", PROVISIONED_SELECTOR, kept=("data",))
"""Cached with its data: a database password is reused from it, and every apply compares."""
CONFIG_MAP: Final = ApiResource(
    "ConfigMap", "/api/v1", "configmaps", PROVISIONED_SELECTOR, kept=("data",)
)
NAMESPACE: Final = ApiResource("Namespace", "/api/v1", "namespaces")
EVENT: Final = ApiResource("Event", "/api/v1", "events")
LEASE: Final = leader.LEASE

KEYCLOAK_ADMIN_SECRET: Final = "KeycloakAdminSecret"  # noqa: S105 - a kind's name
IDENTITY_PROVIDERS_SECRET: Final = "IdentityProvidersSecret"  # noqa: S105 - a kind's name
PLATFORM_SECRETS: Final = frozenset({KEYCLOAK_ADMIN_SECRET, IDENTITY_PROVIDERS_SECRET})
"""Secrets of the platform an app's realm depends on: Keycloak's admin credentials
(KEYCLOAK_ADMIN_SECRET) and the identity providers' OAuth clients."""


def platform_secret(kind: str, name: str) -> ApiResource:
    """One Secret of `PLATFORM_SECRETS` by name, watched apart from the others (it carries
    none of Plattr's labels) so that its arrival or rotation re-queues the apps asking for
    auth, which then verify their realms."""
    return ApiResource(kind, "/api/v1", "secrets", None, f"metadata.name={name}")


PLATTR_KINDS: Final = (APPLICATION, PREVIEW)
CLUSTER_WATCHED_KINDS: Final = (APPLICATION, PREVIEW, DEPLOYMENT)
NAMESPACE_WATCHED_KINDS: Final = (SECRET, CONFIG_MAP)
"""Watched namespace by namespace, where the controller is granted them: the declared
environments' namespaces and the preview namespaces (charts/plattr/templates/rbac.yaml)."""
WATCHED_KINDS: Final = (*CLUSTER_WATCHED_KINDS, *NAMESPACE_WATCHED_KINDS)
