"""What the cluster enforces, on the real kube-apiserver 1.31: Pod Security `restricted` on the
environment namespaces (labelled by devstack from charts/plattr/files/platform-namespaces.yaml,
as the CDK app labels them on EKS), and the chart's tenancy ValidatingAdmissionPolicy.

The policy and the renderer (`renderer.tenancy`) implement one rule; each case here goes to
both, the renderer checking the rendered Deployment and the API server admitting (or not) the
Deployment and a bare Pod made of its pod template, and all three verdicts must agree.
Requests are server-side dry runs: admission runs in full, nothing is stored.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ApiException

from devstack.controlplane import ControlPlane
from devstack.process import wait_until
from plattr.models import Application
from plattr.validation import decode
from renderer.options import PreviewParams, RenderOptions
from renderer.pipeline import render_paths
from renderer.render import render
from renderer.tenancy import check, tenant
from tests.support.apply import apply
from tests.support.chart import render_chart
from tests.support.render_helpers import OPTIONS, tenant_spec

pytestmark = pytest.mark.stack

Manifest = dict[str, Any]
Spec = dict[str, Any]
PREVIEW = msgspec.structs.replace(OPTIONS, preview=PreviewParams(7, head_sha="89abcde"))
RULE = re.compile(r"\[([a-z-]+)\];")
TEMPLATE_APPS = Path(__file__).resolve().parents[2] / "gitops-repo-template" / "apps"
POLICY_KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")


def sneaky() -> Application:
    return decode(yaml.safe_load(tenant_spec("staging")), Application)


def rendered(options: RenderOptions) -> dict[str, Manifest]:
    return {m["kind"]: m for m in render(sneaky(), options)}


def refusal(client: DynamicClient, manifest: Manifest) -> str | None:
    """Why admission refuses to create `manifest` (dry run), or None if it admits it."""
    resource = client.resources.get(api_version=manifest["apiVersion"], kind=manifest["kind"])
    try:
        resource.create(body=manifest, namespace=manifest["metadata"]["namespace"], dry_run="All")
    except ApiException as error:
        if error.status != 403:  # Forbidden: admission said no; anything else is the test's
            raise
        return str(json.loads(error.body)["message"])
    return None


def bare_pod(deployment: Manifest) -> Manifest:
    template = deployment["spec"]["template"]
    metadata = {**template["metadata"], "name": deployment["metadata"]["name"]}
    metadata["namespace"] = deployment["metadata"]["namespace"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]}


def rules(text: str | None) -> set[str]:
    return set(RULE.findall(text or ""))


@pytest.fixture(scope="module")
def client(control_plane: ControlPlane, kube_api_client: Any) -> Iterator[DynamicClient]:
    """The API server with the chart's policy installed, `sneaky`'s preview namespace (as the
    renderer renders it) and the ServiceAccounts the cases run as; the policy is removed after
    the module, since the stack is shared by the session."""
    client = DynamicClient(kube_api_client)
    policy = [
        m
        for m in render_chart()
        if m["kind"] in POLICY_KINDS and m["metadata"]["name"].endswith("-tenancy")
    ]
    assert [m["kind"] for m in policy] == list(POLICY_KINDS)
    preview = rendered(PREVIEW)
    for manifest in [*policy, preview["Namespace"], preview["ServiceAccount"]]:
        apply(client, manifest)
    for account in ("sneaky", "storefront"):
        metadata = {"name": account, "namespace": "staging"}
        apply(client, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata})
    probe = bare_pod(pod_with(rendered(OPTIONS)["Deployment"], env_secret("storefront-db")))

    def in_force() -> bool:
        return "ValidatingAdmissionPolicy" in (refusal(client, probe) or "")

    wait_until(in_force, "the tenancy policy in force", 30, control_plane.apiserver)
    yield client
    for manifest in reversed(policy):
        resource = client.resources.get(api_version=manifest["apiVersion"], kind=manifest["kind"])
        resource.delete(name=manifest["metadata"]["name"])
    wait_until(lambda: not in_force(), "the tenancy policy gone", 30, control_plane.apiserver)


def pod_with(deployment: Manifest, change: Callable[[Spec], None]) -> Manifest:
    changed = copy.deepcopy(deployment)
    change(changed["spec"]["template"]["spec"])
    return changed


def app_container(spec: Spec) -> Spec:
    (container,) = (c for c in spec["containers"] if c["name"] == "app")
    return container  # type: ignore[no-any-return]


def env_secret(name: str) -> Callable[[Spec], None]:
    def change(spec: Spec) -> None:
        ref = {"secretKeyRef": {"name": name, "key": "url"}}
        app_container(spec).setdefault("env", []).append({"name": "X", "valueFrom": ref})

    return change


def env_from(kind: str, name: str) -> Callable[[Spec], None]:
    return lambda spec: app_container(spec).setdefault("envFrom", []).append({kind: {"name": name}})


def env_config_map(name: str) -> Callable[[Spec], None]:
    def change(spec: Spec) -> None:
        ref = {"configMapKeyRef": {"name": name, "key": "bucket"}}
        app_container(spec).setdefault("env", []).append({"name": "X", "valueFrom": ref})

    return change


def volume(source: Spec) -> Callable[[Spec], None]:
    return lambda spec: spec.setdefault("volumes", []).append({"name": "extra", **source})


def field(name: str, value: Any) -> Callable[[Spec], None]:
    return lambda spec: spec.update({name: value})


# (case, change to sneaky's pod, the rule both refuse it by, or None: both admit it)
CASES: list[tuple[str, Callable[[Spec], None], str | None]] = [
    ("rendered as is", lambda spec: None, None),
    ("own Secret", env_secret("sneaky-db"), None),
    ("team's own Secret", env_secret("sneaky.payments"), None),
    ("another app's Secret", env_secret("storefront-db"), "secret-ownership"),
    ("app sneaky-api's Secret", env_secret("sneaky-api-db"), "secret-ownership"),
    ("a preview's Secret", env_secret("sneaky-pr-7-db"), "secret-ownership"),
    ("a shared Secret", env_from("secretRef", "shared-registry"), "secret-ownership"),
    ("another team's Secret", env_from("secretRef", "storefront.payments"), "secret-ownership"),
    ("Secret volume", volume({"secret": {"secretName": "storefront-tls"}}), "secret-ownership"),
    ("own Secret volume", volume({"secret": {"secretName": "sneaky-tls"}}), None),
    (
        "projected Secret",
        volume({"projected": {"sources": [{"secret": {"name": "storefront-auth"}}]}}),
        "secret-ownership",
    ),
    ("image pull Secret", field("imagePullSecrets", [{"name": "regcred"}]), "secret-ownership"),
    ("own ConfigMap", env_config_map("sneaky-storage"), None),
    ("another app's ConfigMap", env_config_map("storefront-storage"), "config-map-ownership"),
    (
        "ConfigMap volume",
        volume({"configMap": {"name": "storefront.flags"}}),
        "config-map-ownership",
    ),
    ("team's own ConfigMap", env_from("configMapRef", "sneaky.flags"), None),
    (
        "another app's claim",
        volume({"persistentVolumeClaim": {"claimName": "storefront.data"}}),
        "claim-ownership",
    ),
    ("own claim", volume({"persistentVolumeClaim": {"claimName": "sneaky.data"}}), None),
    ("another app's account", field("serviceAccountName", "storefront"), "service-account"),
    ("an API token", field("automountServiceAccountToken", True), "service-account"),
]
PREVIEW_CASES: list[tuple[str, Callable[[Spec], None], str | None]] = [
    ("rendered as is", lambda spec: None, None),
    ("the preview's own Secret", env_secret("sneaky-pr-7-db"), None),
    ("the environment's Secret", env_secret("sneaky-db"), "secret-ownership"),
    ("team's own Secret", env_secret("sneaky.payments"), None),
    ("the preview's ConfigMap", env_config_map("sneaky-pr-7-storage"), None),
]


def verdicts(
    client: DynamicClient, options: RenderOptions, change: Callable[[Spec], None]
) -> tuple[set[str], str | None, str | None]:
    deployment = pod_with(rendered(options)["Deployment"], change)
    renderer = check("apps/sneaky", tenant([sneaky()], options), [deployment])
    server = refusal(client, deployment)
    found = {rule for problem in renderer for rule in rules(str(problem))}
    return found, server, refusal(client, bare_pod(deployment))


@pytest.mark.parametrize(("case", "change", "rule"), CASES, ids=[c[0] for c in CASES])
def test_the_policy_and_the_renderer_agree_in_an_environment(
    client: DynamicClient, case: str, change: Callable[[Spec], None], rule: str | None
) -> None:
    expected = {rule} if rule else set()
    renderer, deployment, pod = verdicts(client, OPTIONS, change)
    assert renderer == expected, case
    assert rules(deployment) == expected, deployment
    assert rules(pod) == expected, pod
    if rule:
        assert "ValidatingAdmissionPolicy 'plattr-operator-tenancy'" in str(pod)


@pytest.mark.parametrize(
    ("case", "change", "rule"), PREVIEW_CASES, ids=[c[0] for c in PREVIEW_CASES]
)
def test_the_policy_and_the_renderer_agree_in_a_preview(
    client: DynamicClient, case: str, change: Callable[[Spec], None], rule: str | None
) -> None:
    expected = {rule} if rule else set()
    renderer, deployment, pod = verdicts(client, PREVIEW, change)
    assert (renderer, rules(deployment), rules(pod)) == (expected, expected, expected), case


def test_a_pod_mounting_another_apps_database_secret_is_refused_naming_the_rule(
    client: DynamicClient,
) -> None:
    """The example of docs/tenancy.md: app `sneaky` mounts `storefront-db`, then its own."""
    deployment = rendered(OPTIONS)["Deployment"]
    other = bare_pod(pod_with(deployment, volume({"secret": {"secretName": "storefront-db"}})))
    assert refusal(client, other) == (
        "pods \"sneaky\" is forbidden: ValidatingAdmissionPolicy 'plattr-operator-tenancy' with "
        "binding 'plattr-operator-tenancy' denied request: Pod sneaky: 'storefront-db' is not a "
        "Secret of app sneaky [secret-ownership]; it may reference sneaky-db, sneaky-auth, "
        "sneaky-tls, or its team's own, named 'sneaky.<name>'"
    )
    own = bare_pod(pod_with(deployment, volume({"secret": {"secretName": "sneaky-db"}})))
    assert refusal(client, own) is None


def test_a_pod_without_an_app_label_is_refused(client: DynamicClient) -> None:
    pod = bare_pod(rendered(OPTIONS)["Deployment"])
    del pod["metadata"]["labels"]["app.kubernetes.io/name"]
    assert "carries no label app.kubernetes.io/name [app-label]" in str(refusal(client, pod))


def privileged(spec: Spec) -> None:
    """(The API server refuses privileged with allowPrivilegeEscalation false as invalid.)"""
    context = app_container(spec)["securityContext"]
    del context["allowPrivilegeEscalation"]
    context["privileged"] = True


@pytest.mark.parametrize(
    ("change", "renderer_rule"),
    [
        (field("hostNetwork", True), "host-namespaces"),
        (privileged, "privileged"),
    ],
    ids=["hostNetwork", "privileged"],
)
def test_pod_security_refuses_what_the_restricted_standard_forbids(
    client: DynamicClient, change: Callable[[Spec], None], renderer_rule: str
) -> None:
    """Pod Security admission, from the namespace's labels alone: the tenancy policy admits
    these pods (they reference only their own), the renderer refuses them too."""
    renderer, _, pod = verdicts(client, OPTIONS, change)
    assert renderer_rule in renderer
    assert 'violates PodSecurity "restricted:latest"' in str(pod)


@pytest.mark.parametrize("app_dir", sorted(TEMPLATE_APPS.glob("*/*")), ids=lambda p: p.name)
def test_the_template_apps_pods_are_admitted(client: DynamicClient, app_dir: Path) -> None:
    """Each template app of the GitOps repository, rendered as the plugin renders it: its
    Deployment and a Pod of its template pass Pod Security and the tenancy policy."""
    manifests = render_paths([app_dir], OPTIONS, recursive=False)
    (account,) = (m for m in manifests if m["kind"] == "ServiceAccount")
    apply(client, account)
    for deployment in (m for m in manifests if m["kind"] == "Deployment"):
        assert refusal(client, deployment) is None
        assert refusal(client, bare_pod(deployment)) is None


def test_the_environment_namespaces_carry_the_shared_labels(client: DynamicClient) -> None:
    namespaces = client.resources.get(api_version="v1", kind="Namespace")
    for name in ("production", "staging", "uat"):
        labels = namespaces.get(name=name).metadata.labels
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        assert labels["platform.internal/environment"] == name
