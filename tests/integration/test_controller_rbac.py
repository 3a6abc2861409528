"""The controller's privileges on the real kube-apiserver, with a real token of its
ServiceAccount (TokenRequest) and the chart's RBAC and namespace-deletion policy installed:
what it may do in an environment's namespace and in a preview's (through the RoleBinding the
renderer renders there), and what a stolen token cannot do anywhere else.

Refused deletions are server-side dry runs, so a policy not yet in force deletes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from kubernetes import client as k8s
from kubernetes.dynamic import DynamicClient

from controller.kinds import NAMESPACE, SECRET
from controller.machinery.kube import Kube, KubeError
from controller.provisioners.identity_providers import SECRET_NAME
from devstack.controlplane import ControlPlane
from devstack.process import wait_until
from plattr.access import CONTROLLER_NAMESPACE, CONTROLLER_SERVICE_ACCOUNT
from plattr.labels import PROVISIONED_SELECTOR
from renderer.options import PreviewParams
from renderer.render import render
from tests.integration.test_admission_policy import sneaky
from tests.support.apply import apply
from tests.support.chart import render_chart
from tests.support.fault_support import service_account_token
from tests.support.render_helpers import OPTIONS

pytestmark = pytest.mark.stack

Manifest = dict[str, Any]
PREVIEW = msgspec.structs.replace(OPTIONS, preview=PreviewParams(9, head_sha="89abcde"))
PREVIEW_NS = "preview-sneaky-pr-9"
UNLABELLED = "preview-unlabelled"
RBAC_KINDS = ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
DRY_RUN = {"dryRun": "All"}


def namespace(name: str, labels: dict[str, str] | None = None) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels or {}},
    }


def secret(ns: str, name: str, labels: dict[str, str] | None = None) -> Manifest:
    metadata = {"name": name, "namespace": ns, "labels": labels or {}}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "stringData": {"k": "v"}}


def namespace_path(name: str) -> str:
    return f"{NAMESPACE.collection()}/{name}"


def status(call: Any) -> int:
    """The HTTP status of a request the controller's client makes (200 when it succeeds)."""
    try:
        call()
    except KubeError as error:
        return error.status
    return 200


@pytest.fixture(scope="module")
def installed(control_plane: ControlPlane, kube_api_client: Any) -> Iterator[Manifest]:
    """The chart's RBAC and namespace-deletion policy, the controller's ServiceAccount, a
    preview as the renderer renders it (Namespace and RoleBinding), and Secrets a thief
    would want; the chart's objects and the Secrets are removed after the module (the stack
    is shared by the session)."""
    admin = DynamicClient(kube_api_client)
    chart = [
        m
        for m in render_chart({"keycloakAdminSecret": "keycloak-admin"})
        if m["kind"] in RBAC_KINDS or m["metadata"]["name"].endswith("-namespace-deletion")
    ]
    preview = {m["kind"]: m for m in render(sneaky(), PREVIEW)}
    account = {"name": CONTROLLER_SERVICE_ACCOUNT, "namespace": CONTROLLER_NAMESPACE}
    setup = [
        namespace(CONTROLLER_NAMESPACE),
        namespace("argocd"),
        namespace(UNLABELLED),
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": account},
        *chart,
        preview["Namespace"],
        preview["RoleBinding"],
        secret("argocd", "repo-creds"),
        secret("kube-system", "bootstrap"),
        secret(CONTROLLER_NAMESPACE, "keycloak-admin"),
        secret(CONTROLLER_NAMESPACE, SECRET_NAME),
        secret(CONTROLLER_NAMESPACE, "unrelated"),
    ]
    for manifest in setup:
        apply(admin, manifest)
    yield {"admin": admin, "preview": preview}
    # the chart's objects and the Secrets go (a later module brings its own providers' Secret)
    for manifest in reversed([*chart, *(m for m in setup if m["kind"] == "Secret")]):
        resource = admin.resources.get(api_version=manifest["apiVersion"], kind=manifest["kind"])
        resource.delete(
            name=manifest["metadata"]["name"], namespace=manifest["metadata"].get("namespace")
        )


@pytest.fixture(scope="module")
def controller_kube(installed: Manifest, control_plane: ControlPlane, kube_api_client: Any) -> Kube:
    """The controller's client, authenticated as its ServiceAccount with a TokenRequest token;
    returned once RBAC and the deletion policy are in force for it."""
    admin = Kube(kube_api_client)
    token = service_account_token(admin, CONTROLLER_NAMESPACE, CONTROLLER_SERVICE_ACCOUNT)
    admin_configuration = kube_api_client.configuration
    configuration = k8s.Configuration(
        host=admin_configuration.host, api_key={"BearerToken": f"Bearer {token}"}
    )
    configuration.ssl_ca_cert = admin_configuration.ssl_ca_cert
    kube = Kube(k8s.ApiClient(configuration))

    def in_force() -> bool:
        path = SECRET.collection("staging")
        delete = namespace_path("staging")
        granted = status(lambda: kube.list(path, {"labelSelector": PROVISIONED_SELECTOR})) == 200
        refused = status(lambda: kube.request("DELETE", delete, query=DRY_RUN)) == 403
        return granted and refused

    wait_until(in_force, "the chart's RBAC and policy in force", 30, control_plane.apiserver)
    return kube


def test_writes_and_reads_app_secrets_in_an_environment_namespace(controller_kube: Kube) -> None:
    labels = {"app.kubernetes.io/managed-by": "plattr"}
    body = secret("staging", "rbac-probe-db", labels)
    created = controller_kube.create(SECRET.collection("staging"), body)
    assert created["metadata"]["name"] == "rbac-probe-db"
    assert controller_kube.get(SECRET.item("staging", "rbac-probe-db")) is not None
    controller_kube.merge_patch(SECRET.item("staging", "rbac-probe-db"), {"data": {"k": "dw=="}})
    assert controller_kube.delete(SECRET.item("staging", "rbac-probe-db"))


@pytest.mark.parametrize(
    ("namespace_name", "name"),
    [("kube-system", "bootstrap"), ("argocd", "repo-creds"), (CONTROLLER_NAMESPACE, "unrelated")],
)
def test_reads_no_secret_outside_its_namespaces(
    controller_kube: Kube, namespace_name: str, name: str
) -> None:
    assert status(lambda: controller_kube.get(SECRET.item(namespace_name, name))) == 403
    assert status(lambda: controller_kube.list(SECRET.collection(namespace_name))) == 403


def test_lists_no_secret_or_config_map_cluster_wide(controller_kube: Kube) -> None:
    assert status(lambda: controller_kube.list(SECRET.collection())) == 403
    assert status(lambda: controller_kube.list("/api/v1/configmaps")) == 403


@pytest.mark.parametrize("name", [SECRET_NAME, "keycloak-admin"])
def test_reads_and_watches_its_platform_secrets_by_name_only(
    controller_kube: Kube, name: str
) -> None:
    """As the controller does: get, and list and watch with a fieldSelector on the name."""
    path = SECRET.collection(CONTROLLER_NAMESPACE)
    by_name = {"fieldSelector": f"metadata.name={name}"}
    assert controller_kube.list(path, by_name)["items"][0]["metadata"]["name"] == name
    assert controller_kube.get(SECRET.item(CONTROLLER_NAMESPACE, name)) is not None
    watched = controller_kube.watch(path, by_name, timeout_seconds=1)
    assert [event["object"]["metadata"]["name"] for event in watched] == [name]
    assert status(lambda: controller_kube.list(path)) == 403


def test_a_preview_namespace_grants_what_its_rendered_binding_says(controller_kube: Kube) -> None:
    assert status(lambda: controller_kube.list(SECRET.collection(PREVIEW_NS))) == 200
    created = controller_kube.create(SECRET.collection(PREVIEW_NS), secret(PREVIEW_NS, "x-db"))
    assert created["metadata"]["namespace"] == PREVIEW_NS
    assert status(lambda: controller_kube.list(SECRET.collection(UNLABELLED))) == 403


@pytest.mark.parametrize("name", ["argocd", "staging", CONTROLLER_NAMESPACE, UNLABELLED])
def test_the_api_server_refuses_it_deleting_any_other_namespace(
    controller_kube: Kube, name: str
) -> None:
    with pytest.raises(KubeError) as refused:
        controller_kube.request("DELETE", namespace_path(name), query=DRY_RUN)
    assert refused.value.status == 403
    assert "deletes only preview namespaces" in str(refused.value)


def test_kube_system_stays(controller_kube: Kube) -> None:
    """The API server never deletes kube-system (NamespaceLifecycle), whoever asks."""
    delete = namespace_path("kube-system")
    assert status(lambda: controller_kube.request("DELETE", delete, query=DRY_RUN)) == 403


def test_it_deletes_a_labelled_preview_namespace(controller_kube: Kube) -> None:
    assert controller_kube.delete(namespace_path(PREVIEW_NS))
    gone = controller_kube.get(namespace_path(PREVIEW_NS))
    assert gone is None or gone["metadata"].get("deletionTimestamp")
