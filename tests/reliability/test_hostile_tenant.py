"""A hostile app team against the plugin, as Argo CD runs it: app `sneaky` shares the staging
namespace with `storefront` and controls its own directory (spec and kustomization). Each
attempt to read storefront's credentials, wear its identity or leave the restricted Pod
Security Standard, through spec fields, strategic-merge patches, JSON6902 patches or extra
resources, is refused (exit 1, nothing on stdout) with a message naming the object, the field
and the rule; the same directory without the attack renders."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from plattr.access import APP_OBJECTS_CLUSTER_ROLE
from tests.support.reliability_support import argocd_env, bump, run_plugin
from tests.support.render_helpers import TENANT_APP_CONTAINER, TENANT_POD, tenant_spec

SPEC = tenant_spec("staging")
POD = TENANT_POD
APP = TENANT_APP_CONTAINER
STOREFRONT_ROLE = "arn:aws:iam::123456789012:role/plattr-storefront-staging"
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment"}
SNEAKY = {"name": "sneaky", "namespace": "staging"}


class Attack(NamedTuple):
    name: str
    files: dict[str, str]
    """Files of the app directory besides application.yaml (or replacing it)."""
    rule: str
    where: str
    """The object and field the refusal names."""


def spec_with(extra: str) -> dict[str, str]:
    return {"application.yaml": tenant_spec("staging", extra)}


def strategic(patch: dict[str, Any]) -> dict[str, str]:
    return {
        "kustomization.yaml": "patches:\n  - path: patch.yaml\n",
        "patch.yaml": yaml.safe_dump(patch),
    }


def pod_patch(pod_spec: dict[str, Any], **template: Any) -> dict[str, str]:
    body = {"spec": pod_spec, **template}
    return strategic({**DEPLOYMENT, "metadata": SNEAKY, "spec": {"template": body}})


def json6902(ops: list[dict[str, Any]], kind: str = "Deployment") -> dict[str, str]:
    return {
        "kustomization.yaml": yaml.safe_dump(
            {"patches": [{"target": {"kind": kind, "name": "sneaky"}, "patch": json.dumps(ops)}]}
        )
    }


def extra_resource(manifest: dict[str, Any]) -> dict[str, str]:
    return {
        "kustomization.yaml": "resources: [extra.yaml]\n",
        "extra.yaml": yaml.safe_dump(manifest),
    }


APP_CONTAINER = {"name": "app"}
ATTACKS = [
    # --- through spec fields ----------------------------------------------------------------
    Attack(
        "spec env reads storefront's database URL",
        spec_with(
            "  env:\n    - {name: DB, secretKeyRef: {name: storefront-db, key: DATABASE_URL}}\n"
        ),
        "secret-ownership",
        f"Deployment sneaky: {APP}.env[DB].valueFrom.secretKeyRef.name: 'storefront-db'",
    ),
    Attack(
        "spec env reads storefront's OIDC client secret",
        spec_with(
            "  env:\n"
            "    - {name: S, secretKeyRef: {name: storefront-auth, key: OIDC_CLIENT_SECRET}}\n"
        ),
        "secret-ownership",
        f"{APP}.env[S].valueFrom.secretKeyRef.name: 'storefront-auth'",
    ),
    Attack(
        "spec env reads storefront's bucket names",
        spec_with("  env:\n    - {name: B, configMapKeyRef: {name: storefront-storage, key: K}}\n"),
        "config-map-ownership",
        f"{APP}.env[B].valueFrom.configMapKeyRef.name: 'storefront-storage'",
    ),
    Attack(
        "spec env reads a namespace-wide Secret",
        spec_with("  env:\n    - {name: K, secretKeyRef: {name: payments, key: api-key}}\n"),
        "secret-ownership",
        f"{APP}.env[K].valueFrom.secretKeyRef.name: 'payments'",
    ),
    Attack(
        "spec env claims a dash name of another app",
        spec_with("  env:\n    - {name: K, secretKeyRef: {name: sneaky-api-db, key: K}}\n"),
        "secret-ownership",
        f"{APP}.env[K].valueFrom.secretKeyRef.name: 'sneaky-api-db'",
    ),
    Attack(
        "spec annotation turns AppArmor off",
        spec_with(
            "  annotations:\n    container.apparmor.security.beta.kubernetes.io/app: unconfined\n"
        ),
        "apparmor",
        "spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]",
    ),
    # --- strategic-merge patches ------------------------------------------------------------
    Attack(
        "patch wears storefront's ServiceAccount (and IAM role)",
        pod_patch({"serviceAccountName": "storefront"}),
        "service-account",
        f"Deployment sneaky: {POD}.serviceAccountName: 'storefront'",
    ),
    Attack(
        "patch mounts storefront's auth Secret",
        pod_patch(
            {
                "volumes": [{"name": "loot", "secret": {"secretName": "storefront-auth"}}],
                "containers": [
                    {**APP_CONTAINER, "volumeMounts": [{"name": "loot", "mountPath": "/l"}]}
                ],
            }
        ),
        "secret-ownership",
        f"{POD}.volumes[loot].secret.secretName: 'storefront-auth'",
    ),
    Attack(
        "patch joins the node's network",
        pod_patch({"hostNetwork": True}),
        "host-namespaces",
        f"{POD}.hostNetwork: true",
    ),
    Attack(
        "patch makes the app container privileged",
        pod_patch({"containers": [{**APP_CONTAINER, "securityContext": {"privileged": True}}]}),
        "privileged",
        f"{APP}.securityContext.privileged: true",
    ),
    Attack(
        "patch runs the app container as root",
        pod_patch({"containers": [{**APP_CONTAINER, "securityContext": {"runAsUser": 0}}]}),
        "run-as-user",
        f"{APP}.securityContext.runAsUser: 0",
    ),
    Attack(
        "patch adds an init container with no security context",
        pod_patch({"initContainers": [{"name": "setup", "image": "busybox:1.36"}]}),
        "privilege-escalation",
        f"{POD}.initContainers[setup].securityContext.allowPrivilegeEscalation: not set",
    ),
    Attack(
        "patch moves the Deployment into production",
        json6902([{"op": "replace", "path": "/metadata/namespace", "value": "production"}]),
        "namespace",
        "Deployment sneaky: metadata.namespace: 'production'",
    ),
    Attack(
        "patch gives the ServiceAccount storefront's IAM role",
        strategic(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    **SNEAKY,
                    "annotations": {"eks.amazonaws.com/role-arn": STOREFRONT_ROLE},
                },
            }
        ),
        "service-account",
        "ServiceAccount sneaky: metadata.annotations[eks.amazonaws.com/role-arn]",
    ),
    # --- JSON6902 patches -------------------------------------------------------------------
    Attack(
        "json patch wears storefront's ServiceAccount",
        json6902(
            [
                {
                    "op": "replace",
                    "path": "/spec/template/spec/serviceAccountName",
                    "value": "storefront",
                }
            ]
        ),
        "service-account",
        f"{POD}.serviceAccountName: 'storefront'",
    ),
    Attack(
        "json patch projects storefront's database Secret",
        json6902(
            [
                {
                    "op": "add",
                    "path": "/spec/template/spec/volumes/-",
                    "value": {
                        "name": "p",
                        "projected": {"sources": [{"secret": {"name": "storefront-db"}}]},
                    },
                }
            ]
        ),
        "secret-ownership",
        f"{POD}.volumes[p].projected.sources[0].secret.name: 'storefront-db'",
    ),
    Attack(
        "json patch reads storefront's auth Secret through envFrom",
        json6902(
            [
                {
                    "op": "add",
                    "path": "/spec/template/spec/containers/0/envFrom/-",
                    "value": {"secretRef": {"name": "storefront-auth"}},
                }
            ]
        ),
        "secret-ownership",
        f"{APP}.envFrom[3].secretRef.name: 'storefront-auth'",
    ),
    Attack(
        "json patch shares the node's process namespace",
        json6902([{"op": "add", "path": "/spec/template/spec/hostPID", "value": True}]),
        "host-namespaces",
        f"{POD}.hostPID: true",
    ),
    Attack(
        "json patch mounts the node's root file system",
        json6902(
            [
                {
                    "op": "add",
                    "path": "/spec/template/spec/volumes/-",
                    "value": {"name": "root", "hostPath": {"path": "/"}},
                }
            ]
        ),
        "host-path",
        f"{POD}.volumes[root].hostPath: '/'",
    ),
    Attack(
        "json patch adds SYS_ADMIN",
        json6902(
            [
                {
                    "op": "add",
                    "path": "/spec/template/spec/containers/0/securityContext/capabilities/add",
                    "value": ["SYS_ADMIN"],
                }
            ]
        ),
        "capabilities",
        f'{APP}.securityContext.capabilities.add: ["SYS_ADMIN"]',
    ),
    Attack(
        "json patch turns seccomp off",
        json6902(
            [
                {
                    "op": "replace",
                    "path": "/spec/template/spec/securityContext/seccompProfile/type",
                    "value": "Unconfined",
                }
            ]
        ),
        "seccomp",
        f"{POD}.securityContext.seccompProfile.type: 'Unconfined'",
    ),
    Attack(
        "json patch lets the app run as root",
        json6902(
            [
                {
                    "op": "replace",
                    "path": "/spec/template/spec/securityContext/runAsNonRoot",
                    "value": False,
                }
            ]
        ),
        "run-as-non-root",
        f"{POD}.securityContext.runAsNonRoot: false",
    ),
    Attack(
        "json patch opens a host port",
        json6902(
            [
                {
                    "op": "add",
                    "path": "/spec/template/spec/containers/0/ports/0/hostPort",
                    "value": 80,
                }
            ]
        ),
        "host-port",
        f"{APP}.ports[http].hostPort: 80",
    ),
    Attack(
        "json patch sets an unsafe sysctl",
        json6902(
            [
                {
                    "op": "add",
                    "path": "/spec/template/spec/securityContext/sysctls",
                    "value": [{"name": "kernel.core_pattern", "value": "|/x"}],
                }
            ]
        ),
        "sysctls",
        f"{POD}.securityContext.sysctls[kernel.core_pattern]",
    ),
    # --- extra resources --------------------------------------------------------------------
    Attack(
        "extra CronJob mounts the node and reads storefront's Secret",
        extra_resource(
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": {"name": "sneaky.dump", "namespace": "staging"},
                "spec": {
                    "schedule": "@hourly",
                    "jobTemplate": {
                        "spec": {
                            "template": {
                                "spec": {
                                    "serviceAccountName": "storefront",
                                    "containers": [
                                        {
                                            "name": "dump",
                                            "image": "busybox:1.36",
                                            "envFrom": [{"secretRef": {"name": "storefront-db"}}],
                                        }
                                    ],
                                    "volumes": [{"name": "h", "hostPath": {"path": "/var"}}],
                                }
                            }
                        }
                    },
                },
            }
        ),
        "host-path",
        "CronJob sneaky.dump: spec.jobTemplate.spec.template.spec.volumes[h].hostPath",
    ),
    Attack(
        "extra Namespace relabels production as privileged",
        extra_resource(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": "production",
                    "labels": {"pod-security.kubernetes.io/enforce": "privileged"},
                },
            }
        ),
        "namespace",
        "Namespace production: metadata.name: 'production'",
    ),
    Attack(
        "extra ServiceAccount named storefront",
        extra_resource(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": "storefront",
                    "namespace": "staging",
                    "annotations": {"eks.amazonaws.com/role-arn": STOREFRONT_ROLE},
                },
            }
        ),
        "service-account",
        "ServiceAccount storefront: metadata.name: 'storefront'",
    ),
    Attack(
        "extra RoleBinding gives sneaky the controller's Secret access",
        extra_resource(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "plattr-controller", "namespace": "staging"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": APP_OBJECTS_CLUSTER_ROLE,
                },
                "subjects": [{"kind": "ServiceAccount", **SNEAKY}],
            }
        ),
        "access",
        "RoleBinding plattr-controller: kind: 'RoleBinding'",
    ),
]


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "repo" / "apps" / "staging" / "sneaky"
    directory.mkdir(parents=True)
    (directory / "application.yaml").write_text(SPEC)
    return directory


def write(app_dir: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (app_dir / name).write_text(text)


def assert_refused(result: subprocess.CompletedProcess[str], rule: str, where: str) -> None:
    assert result.returncode == 1, result.stdout[:2000]
    assert result.stdout == ""
    assert f"[{rule}]" in result.stderr, result.stderr
    assert where in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    bump("hostile_tenant_attempts_refused")


def test_the_directory_without_an_attack_renders(app_dir: Path) -> None:
    write(
        app_dir,
        spec_with("  env:\n    - {name: K, secretKeyRef: {name: sneaky.payments, key: api-key}}\n")
        | pod_patch({"containers": [{**APP_CONTAINER, "env": [{"name": "X", "value": "1"}]}]}),
    )
    result = run_plugin(app_dir, argocd_env(app_dir))
    assert result.returncode == 0, result.stderr
    kinds = {document["kind"] for document in yaml.safe_load_all(result.stdout)}
    assert "Deployment" in kinds


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda attack: attack.name)
def test_each_attack_is_refused_naming_the_rule(app_dir: Path, attack: Attack) -> None:
    write(app_dir, attack.files)
    assert_refused(run_plugin(app_dir, argocd_env(app_dir)), attack.rule, attack.where)


def test_the_cronjob_attack_is_refused_for_every_path_it_tried(app_dir: Path) -> None:
    (cronjob,) = [attack for attack in ATTACKS if attack.name.startswith("extra CronJob")]
    write(app_dir, cronjob.files)
    stderr = run_plugin(app_dir, argocd_env(app_dir)).stderr
    for rule in ("host-path", "service-account", "secret-ownership", "privilege-escalation"):
        assert f"[{rule}]" in stderr, stderr


PREVIEW = {"ARGOCD_ENV_PREVIEW_PR": "7", "ARGOCD_ENV_PREVIEW_HEAD_SHA": "89abcde"}


def test_a_preview_cannot_weaken_its_namespaces_pod_security(app_dir: Path) -> None:
    write(
        app_dir,
        strategic(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": "preview-sneaky-pr-7",
                    "labels": {"pod-security.kubernetes.io/enforce": "privileged"},
                },
            }
        ),
    )
    assert_refused(
        run_plugin(app_dir, argocd_env(app_dir, **PREVIEW)),
        "namespace",
        "Namespace preview-sneaky-pr-7: metadata.labels[pod-security.kubernetes.io/enforce]",
    )


def test_a_preview_cannot_reach_outside_its_namespace(app_dir: Path) -> None:
    """Patches written for the app are retargeted to the preview; one naming staging's
    Secrets still names Secrets the preview does not own."""
    write(app_dir, pod_patch({"serviceAccountName": "sneaky"}))
    write(app_dir, spec_with("  env:\n    - {name: DB, secretKeyRef: {name: sneaky-db, key: K}}\n"))
    result = run_plugin(app_dir, argocd_env(app_dir, **PREVIEW))
    assert_refused(result, "secret-ownership", "'sneaky-db' is not a Secret of app sneaky")
    assert "sneaky-pr-7-db" in result.stderr
