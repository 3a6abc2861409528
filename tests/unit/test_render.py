"""Every manifest kind the renderer emits, and what it must (not) contain."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from plattr import postgrest
from plattr.environments import DEFAULT_FILE
from renderer.errors import RenderError, SpecErrors
from renderer.options import InvalidOption, PreviewParams, RenderOptions
from renderer.pipeline import render_paths
from renderer.render import render
from tests.support.render_helpers import OPTIONS, app_from, container, only, render_by_kind


def test_the_complete_example_renders_every_kind_it_asks_for() -> None:
    kinds = [m["kind"] for m in render(app_from(), OPTIONS)]
    assert kinds == [
        "NetworkPolicy",
        "ServiceAccount",
        "Service",
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Ingress",
        "Ingress",
        "Application",
    ]


def test_everything_carries_the_standard_labels_in_the_environment_namespace() -> None:
    for manifest in render(app_from(), OPTIONS):
        labels = manifest["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "my-frontend"
        assert labels["app.kubernetes.io/managed-by"] == "plattr"
        assert labels["app.kubernetes.io/part-of"] == "plattr"
        assert manifest["metadata"]["namespace"] == "production"


def test_output_is_identical_for_the_same_input() -> None:
    first = json.dumps(render(app_from(), OPTIONS))
    assert all(json.dumps(render(app_from(), OPTIONS)) == first for _ in range(3))


def test_deployment_has_no_replicas_when_an_hpa_owns_them() -> None:
    by_kind = render_by_kind(app_from())
    assert "replicas" not in only(by_kind, "Deployment")["spec"]
    hpa = only(by_kind, "HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 20)
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 70


def test_fixed_scale_gets_replicas_and_no_hpa_or_pdb_below_two() -> None:
    by_kind = render_by_kind(app_from({"scaling": {"min": 1, "max": 1}}))
    assert only(by_kind, "Deployment")["spec"]["replicas"] == 1
    assert "HorizontalPodAutoscaler" not in by_kind
    assert "PodDisruptionBudget" not in by_kind


def test_pdb_when_at_least_two_replicas_always_run() -> None:
    by_kind = render_by_kind(app_from({"scaling": {"min": 2, "max": 2}}))
    assert only(by_kind, "Deployment")["spec"]["replicas"] == 2
    assert only(by_kind, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1


def test_pod_security_and_the_tmp_volume() -> None:
    deployment = only(render_by_kind(app_from()), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "my-frontend"
    for each in pod["containers"]:
        assert each["securityContext"]["allowPrivilegeEscalation"] is False
        assert each["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert {"name": "tmp", "mountPath": "/tmp"} in container(deployment, "app")["volumeMounts"]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize(("framework", "read_only"), [("nextjs", False), ("go", True)])
def test_read_only_root_filesystem_where_the_framework_allows(
    framework: str, read_only: bool
) -> None:
    app = container(only(render_by_kind(app_from({"framework": framework})), "Deployment"), "app")
    assert app["securityContext"]["readOnlyRootFilesystem"] is read_only


def test_secrets_are_referenced_never_inlined() -> None:
    app = container(only(render_by_kind(app_from()), "Deployment"), "app")
    assert app["envFrom"] == [
        {"secretRef": {"name": "my-frontend-db"}},
        {"configMapRef": {"name": "my-frontend-storage"}},
        {"secretRef": {"name": "my-frontend-auth"}},
    ]
    assert all("value" not in e or not e["name"].startswith("PG") for e in app["env"])


def test_framework_defaults_and_user_overrides_for_port_probes_and_resources() -> None:
    app = container(only(render_by_kind(app_from()), "Deployment"), "app")
    assert app["ports"] == [{"name": "http", "containerPort": 3000, "protocol": "TCP"}]
    assert app["readinessProbe"]["httpGet"] == {"path": "/", "port": "http"}
    assert app["resources"] == {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"memory": "512Mi"},
    }
    custom = container(
        only(
            render_by_kind(
                app_from(
                    {
                        "port": 9000,
                        "probes": {"readiness": {"type": "tcp"}, "liveness": {"path": "/live"}},
                        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                        "command": ["serve"],
                        "args": ["--fast"],
                    }
                )
            ),
            "Deployment",
        ),
        "app",
    )
    assert custom["ports"][0]["containerPort"] == 9000
    assert custom["readinessProbe"]["tcpSocket"] == {"port": "http"}
    assert custom["livenessProbe"]["httpGet"]["path"] == "/live"
    assert custom["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}
    assert (custom["command"], custom["args"]) == (["serve"], ["--fast"])


def test_env_values_and_references() -> None:
    env = [
        {"name": "A", "value": "1"},
        {"name": "B", "secretKeyRef": {"name": "s", "key": "k"}},
        {"name": "C", "configMapKeyRef": {"name": "c", "key": "k"}},
        {"name": "PORT", "value": "8081"},
    ]
    rendered = container(only(render_by_kind(app_from({"env": env})), "Deployment"), "app")["env"]
    by_name = {e["name"]: e for e in rendered}
    assert by_name["A"] == {"name": "A", "value": "1"}
    assert by_name["B"]["valueFrom"] == {"secretKeyRef": {"name": "s", "key": "k"}}
    assert by_name["C"]["valueFrom"] == {"configMapKeyRef": {"name": "c", "key": "k"}}
    assert [e["name"] for e in rendered].count("PORT") == 1  # the user's PORT wins
    assert by_name["PLATTR_URL"]["value"] == "https://my-frontend.example.dev"


def test_postgrest_sidecar_with_its_own_port_probes_and_the_apps_schema() -> None:
    by_kind = render_by_kind(app_from())
    sidecar = container(only(by_kind, "Deployment"), "postgrest")
    assert sidecar["image"] == postgrest.IMAGE == "postgrest/postgrest:v12.2.3"
    env = {e["name"]: e for e in sidecar["env"]}
    assert env["PGRST_DB_URI"]["valueFrom"]["secretKeyRef"] == {
        "name": "my-frontend-db",
        "key": "DATABASE_URL",
    }
    assert env["PGRST_DB_SCHEMAS"]["value"] == "my_frontend_production"
    assert env["PGRST_DB_ANON_ROLE"]["value"] == "my_frontend_production_anon"
    assert sidecar["readinessProbe"]["httpGet"]["path"] == "/ready"
    ports = {p["name"] for p in only(by_kind, "Service")["spec"]["ports"]}
    assert ports == {"http", "postgrest"}
    rest = [i for i in by_kind["Ingress"] if i["metadata"]["name"].endswith("-postgrest")]
    assert rest[0]["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/rest(/|$)(.*)"


@pytest.mark.parametrize(
    "database",
    [{"enabled": False}, {"enabled": True, "postgrest": {"enabled": False}}],
)
def test_no_sidecar_without_database_or_when_switched_off(database: dict[str, object]) -> None:
    by_kind = render_by_kind(app_from({"database": database}))
    containers = only(by_kind, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["app"]
    assert len(by_kind["Ingress"]) == 1


def test_ingress_tls_issuer_external_dns_and_extra_hosts() -> None:
    by_kind = render_by_kind(app_from({"ingress": {"hosts": ["shop.example.com"], "path": "/"}}))
    ingress = by_kind["Ingress"][0]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    annotations = ingress["metadata"]["annotations"]
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    assert annotations["external-dns.alpha.kubernetes.io/hostname"] == (
        "my-frontend.example.dev,shop.example.com"
    )
    assert ingress["spec"]["tls"] == [
        {"hosts": ["my-frontend.example.dev", "shop.example.com"], "secretName": "my-frontend-tls"}
    ]
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == [
        "my-frontend.example.dev",
        "shop.example.com",
    ]


def test_staging_host_and_disabled_ingress() -> None:
    staging = render_by_kind(app_from({"environment": "staging"}))
    assert staging["Ingress"][0]["spec"]["rules"][0]["host"] == "my-frontend.staging.example.dev"
    closed = render_by_kind(app_from({"ingress": {"enabled": False}}))
    assert "Ingress" not in closed
    peers = only(closed, "NetworkPolicy")["spec"]["ingress"][0]["from"]
    assert peers == [{"podSelector": {}}]


def test_network_policy_admits_the_ingress_controller_and_the_namespace() -> None:
    policy = only(render_by_kind(app_from()), "NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "my-frontend"
    assert policy["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}},
        {"podSelector": {}},
    ]


def test_service_account_carries_the_irsa_role_only_with_storage() -> None:
    with_storage = only(render_by_kind(app_from()), "ServiceAccount")
    assert with_storage["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/plattr-my-frontend-production"
    }
    without = only(render_by_kind(app_from({"storage": {"enabled": False}})), "ServiceAccount")
    assert "annotations" not in without["metadata"]


def test_storage_without_an_account_id_is_a_clear_error() -> None:
    with pytest.raises(RenderError, match="ARGOCD_ENV_AWS_ACCOUNT_ID"):
        render(app_from(), RenderOptions(base_domain="example.dev"))


def test_the_application_resource_itself_in_canonical_form() -> None:
    resource = only(render_by_kind(app_from()), "Application")
    assert resource["apiVersion"] == "platform.internal/v1alpha1"
    assert resource["metadata"]["namespace"] == "production"  # not the spec's "default"
    assert resource["spec"]["scaling"] == {"min": 2, "max": 20, "targetCPU": 70}
    assert "ingress" not in resource["spec"]  # defaults are omitted


def test_environment_override_moves_everything() -> None:
    options = msgspec.structs.replace(OPTIONS, environment="uat")
    by_kind = render_by_kind(app_from(), options)
    assert only(by_kind, "Application")["spec"]["environment"] == "uat"
    assert only(by_kind, "Deployment")["metadata"]["namespace"] == "uat"


def test_extra_labels_and_annotations() -> None:
    app = app_from({"labels": {"team": "shop"}, "annotations": {"example.com/owner": "shop"}})
    by_kind = render_by_kind(app)
    deployment = only(by_kind, "Deployment")
    assert deployment["metadata"]["labels"]["team"] == "shop"
    assert deployment["spec"]["template"]["metadata"]["annotations"] == {
        "example.com/owner": "shop"
    }
    assert all(m["metadata"]["labels"]["team"] == "shop" for ms in by_kind.values() for m in ms)


def test_preview_renders_namespace_preview_resource_and_a_single_replica() -> None:
    options = msgspec.structs.replace(
        OPTIONS, preview=PreviewParams(42, head_sha="abcdef1", ttl="24h")
    )
    manifests = render(app_from({"environment": "staging"}), options)
    kinds = [m["kind"] for m in manifests]
    assert kinds[0] == "Namespace"
    assert "Application" not in kinds
    assert "HorizontalPodAutoscaler" not in kinds
    assert "PodDisruptionBudget" not in kinds
    namespace = manifests[0]["metadata"]
    assert namespace["name"] == "preview-my-frontend-pr-42"
    assert namespace["labels"]["platform.internal/preview"] == "true"
    by_kind = {m["kind"]: m for m in manifests}
    preview = by_kind["PreviewEnvironment"]
    assert preview["metadata"]["name"] == "my-frontend-pr-42"
    assert preview["spec"]["pullRequest"] == 42
    assert preview["spec"]["ttl"] == "24h"
    assert preview["spec"]["imageRef"].endswith("plattr-apps:my-frontend-abcdef1")
    deployment = by_kind["Deployment"]
    assert deployment["spec"]["replicas"] == 1
    assert deployment["metadata"]["namespace"] == "preview-my-frontend-pr-42"
    app = container(deployment, "app")
    assert {"secretRef": {"name": "my-frontend-pr-42-db"}} in app["envFrom"]
    assert by_kind["Ingress"]["spec"]["rules"][0]["host"] == (
        "my-frontend-pr-42.preview.example.dev"
    )
    assert all(
        m["metadata"].get("namespace", namespace["name"]) == namespace["name"] for m in manifests
    )


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"image_tag": "bad tag;rm"}, "image tag"),
        ({"head_sha": "XYZ"}, "head SHA"),
        ({"ttl": "forever"}, "TTL"),
        ({"pull_request": 0}, "PR number"),
    ],
)
def test_hostile_preview_parameters_are_refused(changes: dict[str, object], fragment: str) -> None:
    """Refused when the parameters are made, before any render can use them."""
    with pytest.raises(InvalidOption, match=fragment):
        PreviewParams(**{"pull_request": 1, **changes})


def test_an_environment_without_previews_takes_none() -> None:
    options = msgspec.structs.replace(OPTIONS, preview=PreviewParams(42, head_sha="abcdef1"))
    with pytest.raises(RenderError) as refused:
        render(app_from({"environment": "production"}), options)
    assert str(refused.value) == (
        "app 'my-frontend': environment 'production' takes no previews (previews: false in "
        f"{DEFAULT_FILE}); preview the app from an environment that does: staging, uat"
    )


def test_an_undeclared_environment_is_refused_naming_the_declared_ones(tmp_path: Path) -> None:
    spec = tmp_path / "application.yaml"
    spec.write_text(
        "apiVersion: platform.internal/v1alpha1\nkind: Application\nmetadata: {name: web}\n"
        "spec:\n  framework: nextjs\n  environment: qa\n  imageRef: nginx\n"
    )
    with pytest.raises(SpecErrors) as refused:
        render_paths([spec], OPTIONS)
    assert str(refused.value) == (
        f"{spec}:6: spec.environment: 'qa' is not a declared environment; declared: "
        f"production, staging, uat (from {DEFAULT_FILE}). Pick one of those, or have the "
        "platform team add it to the environments declaration"
    )


def test_preview_image_tag_replaces_the_tag_and_keeps_the_registry_port() -> None:
    app = app_from(
        {"environment": "staging", "imageRef": "registry.local:5000/team/web@sha256:" + "a" * 64}
    )
    options = msgspec.structs.replace(OPTIONS, preview=PreviewParams(3, image_tag="pr-3"))
    preview = {m["kind"]: m for m in render(app, options)}["PreviewEnvironment"]
    assert preview["spec"]["imageRef"] == "registry.local:5000/team/web:pr-3"


def test_a_preview_image_repository_replaces_the_spec_images_repository() -> None:
    app = app_from({"environment": "staging", "imageRef": "registry.local:5000/team/web:1.0"})
    previews = "registry.local:5000/previews"
    preview = PreviewParams(3, head_sha="abcdef1", image_repository=previews)
    options = msgspec.structs.replace(OPTIONS, preview=preview)
    rendered = {m["kind"]: m for m in render(app, options)}
    assert rendered["PreviewEnvironment"]["spec"]["imageRef"] == f"{previews}:my-frontend-abcdef1"
    untagged = msgspec.structs.replace(preview, head_sha=None)
    options = msgspec.structs.replace(OPTIONS, preview=untagged)
    rendered = {m["kind"]: m for m in render(app, options)}
    assert rendered["PreviewEnvironment"]["spec"]["imageRef"] == "registry.local:5000/team/web:1.0"
