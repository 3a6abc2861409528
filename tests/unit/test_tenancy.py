"""The tenancy checks on the final render: one app may reference only what it owns, and its pods
must pass the restricted Pod Security Standard, whatever its spec or kustomization says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from plattr.access import (
    APP_OBJECTS_CLUSTER_ROLE,
    CONTROLLER_SERVICE_ACCOUNT,
    PREVIEW_ROLE_BINDING,
)
from renderer.errors import SpecErrors
from renderer.options import PreviewParams
from renderer.pipeline import render_paths
from tests.support.render_helpers import OPTIONS, TENANT_APP_CONTAINER, TENANT_POD, tenant_spec

POD = TENANT_POD
PREVIEWED = "staging"
"""Previews are of an environment that takes them (production does not)."""
APP = TENANT_APP_CONTAINER


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "sneaky"
    directory.mkdir()
    (directory / "application.yaml").write_text(tenant_spec("production"))
    return directory


def with_spec(app_dir: Path, extra: str, environment: str = "production") -> Path:
    (app_dir / "application.yaml").write_text(tenant_spec(environment, extra))
    return app_dir


def with_json_patch(app_dir: Path, ops: list[dict[str, Any]], kind: str = "Deployment") -> Path:
    patch = json.dumps(ops)
    (app_dir / "kustomization.yaml").write_text(
        f"patches:\n  - target: {{kind: {kind}, name: sneaky}}\n    patch: '{patch}'\n"
    )
    return app_dir


def refusal(app_dir: Path, **options: Any) -> str:
    with pytest.raises(SpecErrors) as raised:
        render_paths([app_dir], msgspec.structs.replace(OPTIONS, **options), recursive=False)
    return str(raised.value)


def add(path: str, value: Any) -> dict[str, Any]:
    return {"op": "add", "path": path, "value": value}


CONTAINER = "/spec/template/spec/containers/0"
RESTRICTED_POD_CASES: list[tuple[str, list[dict[str, Any]], str]] = [
    ("host-namespaces", [add("/spec/template/spec/hostNetwork", True)], f"{POD}.hostNetwork"),
    ("host-namespaces", [add("/spec/template/spec/hostPID", True)], f"{POD}.hostPID"),
    ("host-namespaces", [add("/spec/template/spec/hostIPC", True)], f"{POD}.hostIPC"),
    (
        "host-path",
        [add("/spec/template/spec/volumes/-", {"name": "root", "hostPath": {"path": "/"}})],
        f"{POD}.volumes[root].hostPath",
    ),
    (
        "volume-types",
        [add("/spec/template/spec/volumes/-", {"name": "n", "nfs": {"server": "x", "path": "/"}})],
        f"{POD}.volumes[n].nfs",
    ),
    (
        "host-port",
        [add(f"{CONTAINER}/ports/0/hostPort", 8000)],
        f"{APP}.ports[http].hostPort",
    ),
    (
        "privileged",
        [add(f"{CONTAINER}/securityContext/privileged", True)],
        f"{APP}.securityContext.privileged",
    ),
    (
        "privilege-escalation",
        [add(f"{CONTAINER}/securityContext/allowPrivilegeEscalation", True)],
        f"{APP}.securityContext.allowPrivilegeEscalation",
    ),
    (
        "privilege-escalation",
        [{"op": "remove", "path": f"{CONTAINER}/securityContext/allowPrivilegeEscalation"}],
        f"{APP}.securityContext.allowPrivilegeEscalation",
    ),
    (
        "capabilities",
        [add(f"{CONTAINER}/securityContext/capabilities/add", ["SYS_ADMIN"])],
        f"{APP}.securityContext.capabilities.add",
    ),
    (
        "capabilities",
        [add(f"{CONTAINER}/securityContext/capabilities/drop", ["NET_RAW"])],
        f"{APP}.securityContext.capabilities.drop",
    ),
    (
        "run-as-non-root",
        [add("/spec/template/spec/securityContext/runAsNonRoot", False)],
        f"{POD}.securityContext.runAsNonRoot",
    ),
    (
        "run-as-user",
        [add(f"{CONTAINER}/securityContext/runAsUser", 0)],
        f"{APP}.securityContext.runAsUser",
    ),
    (
        "seccomp",
        [add("/spec/template/spec/securityContext/seccompProfile", {"type": "Unconfined"})],
        f"{POD}.securityContext.seccompProfile.type",
    ),
    (
        "seccomp",
        [{"op": "remove", "path": "/spec/template/spec/securityContext/seccompProfile"}],
        f"{APP}.securityContext.seccompProfile",
    ),
    (
        "sysctls",
        [
            add(
                "/spec/template/spec/securityContext/sysctls",
                [{"name": "kernel.msgmax", "value": "1"}],
            )
        ],
        f"{POD}.securityContext.sysctls[kernel.msgmax]",
    ),
    (
        "proc-mount",
        [add(f"{CONTAINER}/securityContext/procMount", "Unmasked")],
        f"{APP}.securityContext.procMount",
    ),
    (
        "apparmor",
        [add(f"{CONTAINER}/securityContext/appArmorProfile", {"type": "Unconfined"})],
        f"{APP}.securityContext.appArmorProfile.type",
    ),
    (
        "apparmor",
        [
            add(
                "/spec/template/metadata/annotations",
                {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"},
            )
        ],
        "spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]",
    ),
    (
        "selinux",
        [add("/spec/template/spec/securityContext/seLinuxOptions", {"type": "spc_t"})],
        f"{POD}.securityContext.seLinuxOptions",
    ),
    (
        "host-process",
        [add(f"{CONTAINER}/securityContext/windowsOptions", {"hostProcess": True})],
        f"{APP}.securityContext.windowsOptions.hostProcess",
    ),
    (
        "probe-host",
        [add(f"{CONTAINER}/readinessProbe/httpGet/host", "169.254.169.254")],
        f"{APP}.readinessProbe.httpGet.host",
    ),
]


def test_only_net_bind_service_may_be_added(app_dir: Path) -> None:
    ops = [add(f"{CONTAINER}/securityContext/capabilities/add", ["NET_BIND_SERVICE"])]
    manifests = render_paths([with_json_patch(app_dir, ops)], OPTIONS, recursive=False)
    assert any(m["kind"] == "Deployment" for m in manifests)


def test_another_apps_secret_in_the_spec_is_refused_naming_field_value_and_rule(
    app_dir: Path,
) -> None:
    with_spec(
        app_dir,
        "  env:\n"
        "    - {name: STOLEN, secretKeyRef: {name: storefront-db, key: DATABASE_URL}}\n"
        "    - {name: FLAGS, configMapKeyRef: {name: storefront-storage, key: BUCKET_X}}\n",
    )
    message = refusal(app_dir)
    assert (
        f"{APP}.env[STOLEN].valueFrom.secretKeyRef.name: 'storefront-db' is not a Secret of "
        "app sneaky [secret-ownership]"
    ) in message
    assert f"{APP}.env[FLAGS].valueFrom.configMapKeyRef.name: 'storefront-storage'" in message
    assert "[config-map-ownership]" in message
    assert "sneaky-db" in message
    assert "'sneaky.<name>'" in message


def test_the_apps_own_and_declared_names_are_allowed(app_dir: Path) -> None:
    with_spec(
        app_dir,
        "  env:\n"
        "    - {name: A, secretKeyRef: {name: sneaky-db, key: PGPASSWORD}}\n"
        "    - {name: B, secretKeyRef: {name: sneaky.payments, key: api-key}}\n"
        "    - {name: C, configMapKeyRef: {name: sneaky.flags, key: flags.json}}\n"
        "    - {name: D, configMapKeyRef: {name: sneaky-storage, key: AWS_REGION}}\n",
    )
    assert render_paths([app_dir], OPTIONS, recursive=False)


def test_a_name_with_the_apps_name_and_a_dash_is_not_its_own(app_dir: Path) -> None:
    """`sneaky-api-db` may be the database of an app named `sneaky-api`."""
    with_spec(app_dir, "  env:\n    - {name: A, secretKeyRef: {name: sneaky-api-db, key: K}}\n")
    assert "[secret-ownership]" in refusal(app_dir)


REFERENCE_CASES: list[tuple[str, list[dict[str, Any]], str]] = [
    (
        "secret-ownership",
        [add(f"{CONTAINER}/envFrom/-", {"secretRef": {"name": "storefront-auth"}})],
        f"{APP}.envFrom[3].secretRef.name",
    ),
    (
        "config-map-ownership",
        [add(f"{CONTAINER}/envFrom/-", {"configMapRef": {"name": "storefront-storage"}})],
        f"{APP}.envFrom[3].configMapRef.name",
    ),
    (
        "secret-ownership",
        [
            add(
                "/spec/template/spec/volumes/-",
                {"name": "s", "secret": {"secretName": "storefront-auth"}},
            ),
        ],
        f"{POD}.volumes[s].secret.secretName",
    ),
    (
        "config-map-ownership",
        [add("/spec/template/spec/volumes/-", {"name": "c", "configMap": {"name": "shared"}})],
        f"{POD}.volumes[c].configMap.name",
    ),
    (
        "secret-ownership",
        [
            add(
                "/spec/template/spec/volumes/-",
                {"name": "p", "projected": {"sources": [{"secret": {"name": "storefront-db"}}]}},
            )
        ],
        f"{POD}.volumes[p].projected.sources[0].secret.name",
    ),
    (
        "secret-ownership",
        [add("/spec/template/spec/imagePullSecrets", [{"name": "storefront-registry"}])],
        f"{POD}.imagePullSecrets[0].name",
    ),
    (
        "claim-ownership",
        [
            add(
                "/spec/template/spec/volumes/-",
                {"name": "d", "persistentVolumeClaim": {"claimName": "storefront-data"}},
            )
        ],
        f"{POD}.volumes[d].persistentVolumeClaim.claimName",
    ),
    (
        "service-account",
        [
            {
                "op": "replace",
                "path": "/spec/template/spec/serviceAccountName",
                "value": "storefront",
            }
        ],
        f"{POD}.serviceAccountName",
    ),
    (
        "service-account",
        [{"op": "remove", "path": "/spec/template/spec/serviceAccountName"}],
        f"{POD}.serviceAccountName",
    ),
    (
        "service-account",
        [
            {
                "op": "replace",
                "path": "/spec/template/spec/automountServiceAccountToken",
                "value": True,
            }
        ],
        f"{POD}.automountServiceAccountToken",
    ),
    (
        "namespace",
        [{"op": "replace", "path": "/metadata/namespace", "value": "staging"}],
        "metadata.namespace",
    ),
]


CASES = RESTRICTED_POD_CASES + REFERENCE_CASES


@pytest.mark.parametrize(("rule", "ops", "field"), CASES, ids=[f"{c[0]}:{c[2]}" for c in CASES])
def test_each_rule_is_enforced_after_the_patches(
    app_dir: Path, rule: str, ops: list[dict[str, Any]], field: str
) -> None:
    """Every pod-security rule and every cross-tenant reference, patched in by JSON6902."""
    message = refusal(with_json_patch(app_dir, ops))
    assert f"[{rule}]" in message
    assert f"Deployment sneaky: {field}" in message
    assert message.splitlines()[0].startswith(f"{app_dir} (app sneaky): ")


def test_the_service_accounts_role_cannot_be_swapped(app_dir: Path) -> None:
    role = "arn:aws:iam::123456789012:role/plattr-storefront-production"
    ops = [
        {
            "op": "replace",
            "path": "/metadata/annotations/eks.amazonaws.com~1role-arn",
            "value": role,
        }
    ]
    message = refusal(with_json_patch(app_dir, ops, kind="ServiceAccount"))
    assert "ServiceAccount sneaky: metadata.annotations[eks.amazonaws.com/role-arn]" in message
    assert role in message
    assert "[service-account]" in message


def test_every_violation_of_every_object_is_reported_at_once(app_dir: Path) -> None:
    with_spec(app_dir, "  env:\n    - {name: A, secretKeyRef: {name: storefront-db, key: K}}\n")
    ops = [
        add("/spec/template/spec/hostNetwork", True),
        add(f"{CONTAINER}/securityContext/privileged", True),
    ]
    message = refusal(with_json_patch(app_dir, ops))
    for rule in ("secret-ownership", "host-namespaces", "privileged"):
        assert f"[{rule}]" in message


def test_a_preview_owns_its_own_names_in_its_own_namespace(app_dir: Path) -> None:
    with_spec(
        app_dir,
        "  env:\n"
        "    - {name: A, secretKeyRef: {name: sneaky-pr-7-db, key: K}}\n"
        "    - {name: B, secretKeyRef: {name: sneaky.payments, key: K}}\n",
        environment=PREVIEWED,
    )
    manifests = render_paths(
        [app_dir], msgspec.structs.replace(OPTIONS, preview=PreviewParams(7)), recursive=False
    )
    assert {m["metadata"].get("namespace") for m in manifests} >= {"preview-sneaky-pr-7"}


def test_a_preview_may_not_reference_the_environments_secrets(app_dir: Path) -> None:
    env = "  env:\n    - {name: A, secretKeyRef: {name: sneaky-db, key: K}}\n"
    with_spec(app_dir, env, environment=PREVIEWED)
    message = refusal(app_dir, preview=PreviewParams(7))
    assert "'sneaky-db' is not a Secret of app sneaky" in message
    assert "sneaky-pr-7-db" in message


def test_a_preview_carries_the_controllers_role_binding_and_nothing_else_grants(
    app_dir: Path,
) -> None:
    with_spec(app_dir, "", environment=PREVIEWED)
    manifests = render_paths(
        [app_dir], msgspec.structs.replace(OPTIONS, preview=PreviewParams(7)), recursive=False
    )
    (binding,) = (m for m in manifests if m["kind"] == "RoleBinding")
    assert binding["metadata"]["namespace"] == "preview-sneaky-pr-7"
    assert binding["roleRef"]["name"] == APP_OBJECTS_CLUSTER_ROLE
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": CONTROLLER_SERVICE_ACCOUNT, "namespace": "plattr-system"}
    ]


def test_the_previews_role_binding_cannot_be_pointed_elsewhere(app_dir: Path) -> None:
    with_spec(app_dir, "", environment=PREVIEWED)
    subject = {"kind": "ServiceAccount", "name": "sneaky-pr-7", "namespace": "preview-sneaky-pr-7"}
    kustomization = with_json_patch(app_dir, [add("/subjects/-", subject)], kind="RoleBinding")
    patched = kustomization / "kustomization.yaml"
    patched.write_text(patched.read_text().replace("name: sneaky", f"name: {PREVIEW_ROLE_BINDING}"))
    message = refusal(app_dir, preview=PreviewParams(7))
    assert "RoleBinding plattr-controller: kind" in message
    assert "[access]" in message


@pytest.mark.parametrize("kind", ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"])
def test_an_app_renders_no_api_access(app_dir: Path, kind: str) -> None:
    (app_dir / "grant.yaml").write_text(
        f"apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\n"
        "metadata: {name: sneaky.reader}\nrules: []\n"
    )
    (app_dir / "kustomization.yaml").write_text("resources: [grant.yaml]\n")
    message = refusal(app_dir)
    assert f"{kind} sneaky.reader: kind" in message
    assert "grants Kubernetes API access, which no app has [access]" in message
