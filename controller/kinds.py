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
DEPLOYMENT: Final = ApiResource("Deployment", "/apis/apps/v1", "deployments", RENDERED_SELECTOR)
SECRET: Final = ApiResource("Secret", "/api/v1", "secrets", PROVISIONED_SELECTOR)
CONFIG_MAP: Final = ApiResource("ConfigMap", "/api/v1", "configmaps", PROVISIONED_SELECTOR)
NAMESPACE: Final = ApiResource("Namespace", "/api/v1", "namespaces")
EVENT: Final = ApiResource("Event", "/api/v1", "events")
LEASE: Final = leader.LEASE

KEYCLOAK_ADMIN_SECRET: Final = "KeycloakAdminSecret"  # noqa: S105 - a kind's name


def keycloak_admin_secret(name: str) -> ApiResource:
    """The Secret KEYCLOAK_ADMIN_SECRET names, watched apart from the others (it carries none
    of Plattr's labels) so that its arrival or rotation re-queues the apps asking for auth."""
    return ApiResource(KEYCLOAK_ADMIN_SECRET, "/api/v1", "secrets", None, f"metadata.name={name}")


PLATTR_KINDS: Final = (APPLICATION, PREVIEW)
WATCHED_KINDS: Final = (APPLICATION, PREVIEW, DEPLOYMENT, SECRET, CONFIG_MAP)
