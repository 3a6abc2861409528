"""The local control plane is a real Kubernetes: the CRDs are served and validated by the
API server itself, Deployments roll out onto kwok's nodes, namespaces finalize, GC runs."""

from __future__ import annotations

import copy
import subprocess
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from devstack import ControlPlane, KubeControllers, wait_until
from tests.support.render_helpers import example_doc

pytestmark = pytest.mark.stack

GROUP, VERSION, PLURAL = "platform.internal", "v1alpha1", "applications"
ROLLOUT_TIMEOUT = 60.0

EXAMPLE_APP = example_doc()  # a complete Application: every kind of resource


def _create_application(api_client: Any, body: dict[str, Any]) -> dict[str, Any]:
    namespace = body["metadata"]["namespace"]
    objects = client.CustomObjectsApi(api_client)
    created: dict[str, Any] = objects.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, body
    )
    return created


def _variant(name: str, path: tuple[str, ...], value: object) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE_APP)
    body["metadata"]["name"] = name
    target = body["spec"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


def test_crds_are_installed_and_established(control_plane: ControlPlane, kube_api_client: Any):
    crds = client.ApiextensionsV1Api(kube_api_client).list_custom_resource_definition().items
    established = {
        crd.metadata.name
        for crd in crds
        if any(c.type == "Established" and c.status == "True" for c in crd.status.conditions)
    }
    assert {f"{PLURAL}.{GROUP}", f"previewenvironments.{GROUP}"} <= established


def test_environment_namespaces_exist(control_plane: ControlPlane, kube_api_client: Any):
    names = {ns.metadata.name for ns in client.CoreV1Api(kube_api_client).list_namespace().items}
    assert {"production", "staging", "uat"} <= names


def test_server_reports_the_version_it_was_built_as(kube_api_client: Any):
    info = client.VersionApi(kube_api_client).get_code()
    assert (info.major, info.minor) == ("1", "31")
    assert info.git_version.startswith("v1.31.")


def test_the_complete_example_application_is_accepted(kube_api_client: Any):
    created = _create_application(kube_api_client, EXAMPLE_APP)
    assert created["metadata"]["uid"]
    stored = client.CustomObjectsApi(kube_api_client).get_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, "my-frontend"
    )
    assert stored["spec"] == EXAMPLE_APP["spec"]


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("framework",), "cobol", "spec.framework"),
        (("environment",), "Q_A", "spec.environment"),
        (("scaling", "min"), "two", "spec.scaling.min"),
        (("storage", "enabled"), "yes", "spec.storage.enabled"),
    ],
    ids=["bad-enum-framework", "bad-environment-name", "string-for-integer", "string-for-bool"],
)
def test_invalid_application_is_rejected_by_the_api_server(
    kube_api_client: Any, path: tuple[str, ...], value: object, field: str
):
    body = _variant(f"invalid-{'-'.join(path).lower()}", path, value)
    with pytest.raises(ApiException) as rejected:
        _create_application(kube_api_client, body)
    assert rejected.value.status == 422
    assert field in rejected.value.body


def test_kubectl_shows_when_a_preview_expires(control_plane: ControlPlane, kube_api_client: Any):
    """A future expiry reads as a timestamp (a `date` column would print `<invalid>`)."""
    objects = client.CustomObjectsApi(kube_api_client)
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PreviewEnvironment",
        "metadata": {"name": "shop-pr-5", "namespace": "default"},
        "spec": {"application": "shop", "pullRequest": 5, "imageRef": "nginx", "ttl": "72h"},
    }
    objects.create_namespaced_custom_object(GROUP, VERSION, "default", "previewenvironments", body)
    expires = "2099-01-01T00:00:00Z"
    objects.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        "default",
        "previewenvironments",
        "shop-pr-5",
        {"status": {"expiresAt": expires}},
    )
    shown = subprocess.run(
        ["kubectl", f"--kubeconfig={control_plane.kubeconfig}", "-n", "default", "get", "pe"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    header, row = shown.splitlines()[:2]
    assert header.split()[:4] == ["NAME", "APP", "PR", "EXPIRES"]
    assert row.split()[:4] == ["shop-pr-5", "shop", "5", expires]


def _deployment(name: str, replicas: int) -> client.V1Deployment:
    labels = {"app": name}
    # Pod Security `restricted` holds in the environment namespaces (devstack labels them).
    restricted = client.V1SecurityContext(
        allow_privilege_escalation=False,
        capabilities=client.V1Capabilities(drop=["ALL"]),
        run_as_non_root=True,
        seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
    )
    container = client.V1Container(
        name="web", image="registry.example/web:1", security_context=restricted
    )
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[container]),
            ),
        ),
    )


def test_deployment_becomes_available_on_kwok_nodes_and_is_garbage_collected(
    kube_controllers: KubeControllers, kube_api_client: Any
):
    apps, core = client.AppsV1Api(kube_api_client), client.CoreV1Api(kube_api_client)
    apps.create_namespaced_deployment("production", _deployment("rollout", replicas=3))

    def available() -> bool:
        status = apps.read_namespaced_deployment_status("rollout", "production").status
        return status.available_replicas == 3

    wait_until(available, "deployment available", ROLLOUT_TIMEOUT, *kube_controllers.services)
    pods = core.list_namespaced_pod("production", label_selector="app=rollout").items
    assert len(pods) == 3
    assert {pod.spec.node_name for pod in pods} <= set(kube_controllers.nodes)
    assert all(pod.status.phase == "Running" for pod in pods)

    apps.delete_namespaced_deployment("rollout", "production", propagation_policy="Background")

    def collected() -> bool:
        return not core.list_namespaced_pod("production", label_selector="app=rollout").items

    wait_until(collected, "pods of the deleted deployment collected", ROLLOUT_TIMEOUT)
    assert not apps.list_namespaced_replica_set("production", label_selector="app=rollout").items


def test_an_ingress_gets_an_address_as_from_an_ingress_controller(
    kube_controllers: KubeControllers, kube_api_client: Any
):
    """kwok's ingress-address stage plays the ingress controller's part (an Ingress without
    an address is Progressing in Argo CD forever)."""
    rule = client.V1IngressRule(
        host="web.staging.apps.example.com",
        http=client.V1HTTPIngressRuleValue(
            paths=[
                client.V1HTTPIngressPath(
                    path="/",
                    path_type="Prefix",
                    backend=client.V1IngressBackend(
                        service=client.V1IngressServiceBackend(
                            name="web", port=client.V1ServiceBackendPort(number=80)
                        )
                    ),
                )
            ]
        ),
    )
    ingress = client.V1Ingress(
        metadata=client.V1ObjectMeta(name="web-address"),
        spec=client.V1IngressSpec(ingress_class_name="nginx", rules=[rule]),
    )
    networking = client.NetworkingV1Api(kube_api_client)
    networking.create_namespaced_ingress("default", ingress)

    def address() -> list[str]:
        found = networking.read_namespaced_ingress("web-address", "default")
        balancer = found.status.load_balancer
        return [entry.ip for entry in (balancer.ingress or [])] if balancer else []

    wait_until(lambda: address() == ["127.0.0.1"], "the Ingress has an address", ROLLOUT_TIMEOUT)
    networking.delete_namespaced_ingress("web-address", "default")


def test_deleted_namespace_finalizes(kube_controllers: KubeControllers, kube_api_client: Any):
    core = client.CoreV1Api(kube_api_client)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="doomed")))
    core.create_namespaced_config_map(
        "doomed", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="data"), data={"k": "v"})
    )
    core.delete_namespace("doomed")

    def gone() -> bool:
        return "doomed" not in {ns.metadata.name for ns in core.list_namespace().items}

    wait_until(gone, "namespace doomed finalized", ROLLOUT_TIMEOUT, *kube_controllers.services)
