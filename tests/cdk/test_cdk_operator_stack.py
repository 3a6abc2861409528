"""PlattrOperatorStack in both modes: namespaces, CRDs, secret, ECR, IRSA, Helm releases."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk import Stack
from aws_cdk.assertions import Annotations, Match
from plattr_cdk.namespaces import MANAGED_BY
from plattr_cdk.operator_stack import APP_ROLE_PREFIX
from plattr_cdk.repo_files import CHART_DIR, argocd_values, chart_missing_reason, load_crds

from devstack.controlplane import environment_labels
from plattr.environments import shipped
from tests.support.cdk_helpers import (
    BYO_CONTEXT,
    COMMON_CONTEXT,
    TOKEN,
    as_list,
    cached_synth,
    flatten,
    helm_releases,
    manifests,
    objects_of_kind,
    policy_statements,
    resources,
    synth,
    template,
)

Mode = tuple[str, dict[str, Stack]]
OPERATOR = "PlattrOperatorStack"


def by_namespace(operator: Any, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["namespace"]: o for o in manifests(operator) if o["kind"] == kind}


def test_system_and_environment_namespaces_with_quotas_and_limits(mode: Mode) -> None:
    """From the chart's environments (the shipped declaration): no `limits.cpu` in any quota
    (the renderer sets no CPU limit), and a LimitRange that fills what the quota counts."""
    operator = template(mode[1], OPERATOR)
    namespaces = objects_of_kind(operator, "Namespace")
    assert set(namespaces) == {"plattr-system", "production", "staging", "uat"}
    quotas = by_namespace(operator, "ResourceQuota")
    ranges = by_namespace(operator, "LimitRange")
    for environment in shipped():
        assert quotas[environment.name]["spec"]["hard"] == environment.quota
        assert "limits.cpu" not in quotas[environment.name]["spec"]["hard"]
        (limits,) = ranges[environment.name]["spec"]["limits"]
        assert limits["defaultRequest"] == environment.limits.default_request
        assert limits["default"] == environment.limits.default
    assert quotas["production"]["spec"]["hard"]["requests.cpu"] == "8"
    assert quotas["uat"]["spec"]["hard"]["pods"] == "50"


def test_environment_namespaces_outlive_their_declaration(mode: Mode) -> None:
    """Dropping an environment from the declaration deletes nothing: CloudFormation keeps its
    namespace (and what runs there) when the manifest leaves the template."""
    operator = template(mode[1], OPERATOR)
    for environment in shipped():
        logical = [
            resource
            for key, resource in resources(
                operator, "Custom::AWSCDK-EKS-KubernetesResource"
            ).items()
            if key.startswith(f"{environment.name.capitalize()}Namespace")
        ]
        assert [r["DeletionPolicy"] for r in logical] == ["Retain"]


def test_a_declaration_file_in_the_context_sets_namespaces_and_the_charts_value(
    tmp_path: Path,
) -> None:
    declared = [{"name": "qa", "quota": {"pods": "5"}}, {"name": "production"}]
    (tmp_path / "envs.yaml").write_text(yaml.safe_dump({"environments": declared}))
    context = {**COMMON_CONTEXT, **BYO_CONTEXT, "environmentsFile": str(tmp_path / "envs.yaml")}
    stacks = synth(context, tmp_path / "out")
    operator = template(stacks, OPERATOR)
    assert set(objects_of_kind(operator, "Namespace")) == {"plattr-system", "qa", "production"}
    assert by_namespace(operator, "ResourceQuota")["qa"]["spec"]["hard"] == {"pods": "5"}
    release = helm_releases(operator)["plattr-operator"]
    assert release["Values"]["environments"] == declared


def test_environment_namespaces_are_labelled_as_the_local_stack_labels_them(mode: Mode) -> None:
    """Both read charts/plattr/files/platform-namespaces.yaml: Pod Security `restricted`
    (enforce, audit, warn) and the environment label the tenancy admission policy selects."""
    namespaces = objects_of_kind(template(mode[1], OPERATOR), "Namespace")
    for name in shipped().names:
        local = environment_labels(name)
        synthesized = namespaces[name]["metadata"]["labels"]  # with CDK's own prune label
        assert synthesized.items() >= {**local, **MANAGED_BY}.items()
        assert local["pod-security.kubernetes.io/enforce"] == "restricted"


def test_operator_repository_keeps_25_images(mode: Mode) -> None:
    operator = template(mode[1], OPERATOR)
    operator.resource_count_is("AWS::ECR::Repository", 1)
    (repository,) = resources(operator, "AWS::ECR::Repository").values()
    assert repository["DeletionPolicy"] == "Retain"
    props = repository["Properties"]
    assert props["RepositoryName"] == "plattr-operator"
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    (rule,) = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    assert rule["selection"]["countType"] == "imageCountMoreThan"
    assert rule["selection"]["countNumber"] == 25


def test_db_admin_secret_is_created_here_only_when_aurora_is_not(mode: Mode) -> None:
    name, stacks = mode
    operator = template(stacks, OPERATOR)
    secrets = {
        r["Properties"]["Name"]: r
        for r in resources(operator, "AWS::SecretsManager::Secret").values()
    }
    if name == "infra":
        # Aurora's own master secret (in PlattrInfraStack) is the one the controller reads.
        assert "plattr/db-admin" not in secrets
        return
    secret = secrets["plattr/db-admin"]
    assert secret["DeletionPolicy"] == "Retain"
    generator = secret["Properties"]["GenerateSecretString"]
    assert generator["GenerateStringKey"] == "password"
    assert json.loads(generator["SecretStringTemplate"]) == {
        "username": "plattr_admin",
        "engine": "postgres",
        "host": BYO_CONTEXT["auroraEndpoint"],
        "port": 5432,
        "dbname": "plattr",
    }


def _controller_role(stacks: dict[str, Stack]) -> dict[str, Any]:
    roles = resources(template(stacks, OPERATOR), "AWS::IAM::Role")
    (role,) = [r for key, r in roles.items() if key.startswith("ControllerRole")]
    return role["Properties"]


def test_controller_role_trusts_only_its_service_account(mode: Mode) -> None:
    operator = template(mode[1], OPERATOR)
    (statement,) = _controller_role(mode[1])["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert "Federated" in statement["Principal"]
    condition = statement["Condition"]["StringEquals"]["Fn::GetAtt"][0]
    (values,) = [
        r["Properties"]["Value"]
        for key, r in resources(operator, "Custom::AWSCDKCfnJson").items()
        if key == condition
    ]
    claims = {key.rsplit(":", 1)[1]: value for key, value in json.loads(flatten(values)).items()}
    assert claims == {
        "sub": "system:serviceaccount:plattr-system:plattr-operator",
        "aud": "sts.amazonaws.com",
    }


def test_controller_policy_is_least_privilege(mode: Mode) -> None:
    statements = policy_statements(template(mode[1], OPERATOR), "ControllerRole")
    by_sid = {s.get("Sid", "secret"): s for s in statements}
    assert set(by_sid) == {"PlatformBuckets", "PlatformObjects", "AppRoles", "secret", "WhoAmI"}
    buckets = json.dumps(by_sid["PlatformBuckets"]["Resource"])
    assert buckets.endswith(':s3:::plattr-*"]]}')
    assert json.dumps(by_sid["PlatformObjects"]["Resource"]).endswith(':s3:::plattr-*/*"]]}')
    assert all(":" in a and "*" not in a for s in statements for a in as_list(s["Action"]))
    assert "s3:CreateBucket" in by_sid["PlatformBuckets"]["Action"]
    assert sorted(by_sid["PlatformObjects"]["Action"]) == [
        "s3:DeleteObject",  # emptying a bucket before deleting it, nothing else
        "s3:DeleteObjectVersion",
    ]
    roles = json.dumps(by_sid["AppRoles"]["Resource"])
    assert roles.endswith(':role/plattr-*"]]}')
    assert "iam:PutRolePolicy" in by_sid["AppRoles"]["Action"]
    assert sorted(by_sid["secret"]["Action"]) == [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
    ]
    assert by_sid["secret"]["Resource"] != "*"  # exactly plattr/db-admin
    # The only unscoped statement is an action that takes no resource.
    assert [s["Action"] for s in statements if s["Resource"] == "*"] == ["sts:GetCallerIdentity"]


def test_app_role_prefix_is_the_naming_modules() -> None:
    naming = pytest.importorskip("plattr.naming")
    assert naming.IAM_ROLE_PREFIX == APP_ROLE_PREFIX


def test_six_helm_releases_with_pinned_charts(mode: Mode) -> None:
    releases = helm_releases(template(mode[1], OPERATOR))
    assert set(releases) == {
        "plattr-operator",
        "argocd",
        "cert-manager",
        "external-dns",
        "ingress-nginx",
        "keycloak",
    }
    for name, release in releases.items():
        if name != "plattr-operator":
            assert release["Repository"].startswith("https://")
            assert release["Version"][0] in "v0123456789"


def test_plattr_release_comes_from_the_local_chart_with_the_controllers_env(mode: Mode) -> None:
    name, stacks = mode
    release = helm_releases(template(stacks, OPERATOR))["plattr-operator"]
    assert release["Namespace"] == "plattr-system"
    assert release["SkipCrds"] is True  # the stack applies the CRDs itself
    assert "ChartAssetURL" in release
    assert "Chart" not in release
    values = release["Values"]
    assert values["serviceAccount"]["name"] == "plattr-operator"
    assert values["serviceAccount"] == {"create": True, "name": "plattr-operator", "roleArn": TOKEN}
    env = values["env"]
    assert set(env) == {
        "DB_SECRET_ARN",
        "DB_HOST",
        "AWS_REGION",
        "BASE_DOMAIN",
        "KEYCLOAK_URL",
        "KEYCLOAK_ADMIN_USER",
        "LEADER_ELECTION",
        "LEASE_NAMESPACE",
        "AWS_ACCOUNT_ID",
        "OIDC_PROVIDER_ARN",
        "BUCKET_PREFIX",
    }
    assert env["BUCKET_PREFIX"] == "plattr"
    assert env["LEADER_ELECTION"] == "true"
    assert env["LEASE_NAMESPACE"] == "plattr-system"
    assert env["BASE_DOMAIN"] == COMMON_CONTEXT["baseDomain"]
    assert env["KEYCLOAK_URL"] == f"https://keycloak.{COMMON_CONTEXT['baseDomain']}"
    assert env["DB_HOST"] == (TOKEN if name == "infra" else BYO_CONTEXT["auroraEndpoint"])
    assert values["keycloakAdminSecret"] == "keycloak-admin"
    assert "secretEnv" not in values


def test_infra_mode_wires_the_infra_stacks_resources(infra_mode: dict[str, Stack]) -> None:
    operator = template(infra_mode, OPERATOR)
    release = resources(operator, "Custom::AWSCDK-EKS-HelmChart")
    values = json.dumps([r["Properties"]["Values"] for r in release.values()])
    assert "Fn::ImportValue" in values  # DB secret ARN and Aurora endpoint from PlattrInfraStack
    for helm in release.values():
        assert "Fn::ImportValue" in json.dumps(helm["Properties"]["ClusterName"])


def test_byo_mode_opens_aurora_to_the_clusters_security_group(byo_mode: dict[str, Stack]) -> None:
    operator = template(byo_mode, OPERATOR)
    operator.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "GroupId": BYO_CONTEXT["auroraSgId"],
            "FromPort": 5432,
            "ToPort": 5432,
            "IpProtocol": "tcp",
            "SourceSecurityGroupId": {"Fn::GetAtt": [Match.any_value(), Match.any_value()]},
        },
    )
    (describe,) = resources(operator, "Custom::AWS").values()
    assert "describeCluster" in json.dumps(describe["Properties"]["Update"])
    statements = [
        s
        for r in resources(operator, "AWS::IAM::Policy").values()
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "eks:DescribeCluster"
    ]
    (statement,) = statements
    assert json.dumps(statement["Resource"]).endswith(':cluster/my-eks-cluster"]]}')
    helm = next(iter(resources(operator, "Custom::AWSCDK-EKS-HelmChart").values()))
    assert helm["Properties"]["ClusterName"] == BYO_CONTEXT["eksClusterName"]
    assert helm["Properties"]["RoleArn"] == BYO_CONTEXT["kubectlRoleArn"]


def test_cert_manager_and_the_letsencrypt_prod_issuer(mode: Mode) -> None:
    operator = template(mode[1], OPERATOR)
    release = helm_releases(operator)["cert-manager"]
    assert release["Values"] == {"crds": {"enabled": True}}
    assert release["Wait"] is True  # the issuer needs cert-manager's webhook
    issuer = objects_of_kind(operator, "ClusterIssuer")["letsencrypt-prod"]
    acme = issuer["spec"]["acme"]
    assert acme["server"] == "https://acme-v02.api.letsencrypt.org/directory"
    assert acme["email"] == f"platform@{COMMON_CONTEXT['baseDomain']}"
    assert acme["solvers"] == [{"http01": {"ingress": {"ingressClassName": "nginx"}}}]


def test_external_dns_writes_only_its_zone(mode: Mode) -> None:
    operator = template(mode[1], OPERATOR)
    values = helm_releases(operator)["external-dns"]["Values"]
    zone = COMMON_CONTEXT["hostedZoneId"]
    assert values["provider"] == {"name": "aws"}
    assert values["domainFilters"] == [COMMON_CONTEXT["baseDomain"]]
    assert values["extraArgs"] == [f"--zone-id-filter={zone}"]
    assert values["serviceAccount"]["annotations"] == {"eks.amazonaws.com/role-arn": TOKEN}
    statements = {s["Sid"]: s for s in policy_statements(operator, "ExternalDnsRole")}
    assert json.dumps(statements["RecordsOfTheZone"]["Resource"]).endswith(
        f':route53:::hostedzone/{zone}"]]}}'
    )
    assert "route53:ChangeResourceRecordSets" in statements["RecordsOfTheZone"]["Action"]
    assert statements["FindTheZone"] == {
        "Sid": "FindTheZone",
        "Action": "route53:ListHostedZones",
        "Effect": "Allow",
        "Resource": "*",
    }


def test_ingress_nginx_on_an_nlb(mode: Mode) -> None:
    values = helm_releases(template(mode[1], OPERATOR))["ingress-nginx"]["Values"]
    annotations = values["controller"]["service"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "nlb"
    assert values["controller"]["ingressClassResource"]["name"] == "nginx"


def test_keycloak_26_two_replicas_external_postgres_https(mode: Mode) -> None:
    name, stacks = mode
    operator = template(stacks, OPERATOR)
    values = helm_releases(operator)["keycloak"]["Values"]
    assert values["replicas"] == 2
    assert values["image"]["tag"].startswith("26.")
    database = values["database"]
    assert database["vendor"] == "postgres"
    assert database["hostname"] == (TOKEN if name == "infra" else BYO_CONTEXT["auroraEndpoint"])
    assert database["existingSecret"] == "keycloak-db"
    host = f"keycloak.{COMMON_CONTEXT['baseDomain']}"
    ingress = values["ingress"]
    assert ingress["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt-prod"}
    assert ingress["tls"] == [{"hosts": [host], "secretName": "keycloak-tls"}]
    names = {
        r["Properties"]["Name"] for r in resources(operator, "AWS::SecretsManager::Secret").values()
    }
    assert {"plattr/keycloak-admin", "plattr/keycloak-db"} <= names


def test_argocd_runs_the_plattr_plugin_as_a_sidecar(mode: Mode) -> None:
    values = helm_releases(template(mode[1], OPERATOR))["argocd"]["Values"]
    (sidecar,) = values["repoServer"]["extraContainers"]
    assert sidecar["command"] == ["/var/run/argocd/argocd-cmp-server"]
    assert sidecar["securityContext"]["runAsUser"] == 999
    assert sidecar["image"].endswith(":plugin-latest")
    mounts = {m["name"]: m["mountPath"] for m in sidecar["volumeMounts"]}
    assert mounts["plugins"] == "/home/argocd/cmp-server/plugins"
    assert mounts["var-files"] == "/var/run/argocd"
    assert sidecar["env"] == [
        # the environments declaration the chart's ConfigMap carries into Argo CD's namespace
        {"name": "PLATTR_ENVIRONMENTS_FILE", "value": "/etc/plattr/environments.yaml"},
        {"name": "BASE_DOMAIN", "value": COMMON_CONTEXT["baseDomain"]},
        {"name": "AWS_ACCOUNT_ID", "value": TOKEN},
        # PlattrCicdStack's previews repository, by its name: no cross-stack reference.
        {
            "name": "PREVIEW_IMAGE_REPOSITORY",
            "value": f"{TOKEN}.dkr.ecr.{TOKEN}.{TOKEN}/plattr-previews",
        },
    ]
    assert values["repoServer"]["volumes"] == [
        {"name": "plattr-cmp-tmp", "emptyDir": {}},
        {
            "name": "plattr-environments",
            "configMap": {"name": "plattr-environments", "optional": True},
        },
    ]
    assert mounts["plattr-environments"] == "/etc/plattr"


def test_argocd_values_need_the_plattr_sidecar(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("repoServer:\n  extraContainers:\n    - name: other\n")
    with pytest.raises(ValueError, match=r"one repoServer\.extraContainers entry named plattr-cmp"):
        argocd_values("image:tag", {}, values)


def test_add_on_flags_turn_their_resources_off(tmp_path_factory: pytest.TempPathFactory) -> None:
    flags = {
        "installArgoCd": "false",
        "installCertManager": "false",
        "installExternalDns": "false",
        "installIngressNginx": "false",
        "installKeycloak": "false",
    }
    context = {**BYO_CONTEXT, **flags, "githubOrg": "acme"}
    operator = template(cached_synth("addons-off", context, tmp_path_factory), OPERATOR)
    releases = helm_releases(operator)
    assert set(releases) == {"plattr-operator"}
    assert objects_of_kind(operator, "ClusterIssuer") == {}
    names = {
        r["Properties"]["Name"] for r in resources(operator, "AWS::SecretsManager::Secret").values()
    }
    assert names == {"plattr/db-admin"}
    assert not any(
        key.startswith("ExternalDnsRole") for key in resources(operator, "AWS::IAM::Role")
    )
    env = releases["plattr-operator"]["Values"]["env"]
    assert "KEYCLOAK_URL" not in env
    assert "KEYCLOAK_ADMIN_USER" not in env
    assert "keycloakAdminSecret" not in releases["plattr-operator"]["Values"]


def test_missing_flags_are_an_error_on_the_operator_stack_only(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    stacks = cached_synth(
        "cicd-only", {"githubOrg": "acme", "auroraSgId": "sg-0123456789abcdef0"}, tmp_path_factory
    )
    errors = Annotations.from_stack(stacks[OPERATOR]).find_error("*", Match.any_value())
    (error,) = [str(e.entry.data) for e in errors]
    assert "eksClusterName, kubectlRoleArn, oidcProviderArn, auroraEndpoint" in error
    assert "auroraSgId" not in error.split("pass")[0]
    assert "-c useInfraStack=true" in error
    assert (
        Annotations.from_stack(stacks["PlattrCicdStack"]).find_error("*", Match.any_value()) == []
    )


def test_the_charts_crds_are_applied(mode: Mode) -> None:
    crds = load_crds()
    assert crds, f"no CRDs in {CHART_DIR}/crds"
    applied = objects_of_kind(template(mode[1], OPERATOR), "CustomResourceDefinition")
    assert set(applied) == {crd["metadata"]["name"] for crd in crds}
    assert {"applications.platform.internal", "previewenvironments.platform.internal"} <= set(
        applied
    )


def test_chart_directory_is_installable() -> None:
    assert chart_missing_reason() is None
    assert (CHART_DIR / "Chart.yaml").is_file()


def test_load_crds_reads_every_crd_document(tmp_path: Path) -> None:
    (tmp_path / "crds").mkdir()
    (tmp_path / "crds" / "b.yaml").write_text(
        "kind: CustomResourceDefinition\nmetadata: {name: b}\n---\nkind: ConfigMap\n"
    )
    (tmp_path / "crds" / "a.yaml").write_text(
        "kind: CustomResourceDefinition\nmetadata: {name: a}\n"
    )
    assert [c["metadata"]["name"] for c in load_crds(tmp_path)] == ["a", "b"]
    assert chart_missing_reason(tmp_path) is not None
    (tmp_path / "Chart.yaml").write_text("name: plattr\n")
    assert chart_missing_reason(tmp_path) is None


def test_crds_are_applied_before_the_release(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """With CRDs in the chart, one manifest applies them and the release waits for it."""
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "applications.platform.internal"},
    }
    monkeypatch.setattr("plattr_cdk.operator_stack.load_crds", lambda: [crd])
    context = {**COMMON_CONTEXT, **BYO_CONTEXT}
    operator = template(synth(context, tmp_path_factory.mktemp("crds")), OPERATOR)
    applied = objects_of_kind(operator, "CustomResourceDefinition")
    assert list(applied) == ["applications.platform.internal"]
    assert applied["applications.platform.internal"]["apiVersion"] == crd["apiVersion"]
    (crds_id,) = [
        key
        for key, r in resources(operator, "Custom::AWSCDK-EKS-KubernetesResource").items()
        if key.startswith("Crds")
    ]
    (release,) = [
        r
        for r in resources(operator, "Custom::AWSCDK-EKS-HelmChart").values()
        if r["Properties"]["Release"] == "plattr-operator"
    ]
    assert crds_id in release["DependsOn"]


def test_core_manifests_match_the_kubernetes_131_schemas(mode: Mode) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    core = [
        m
        for m in manifests(template(mode[1], OPERATOR))
        if m["kind"] in {"Namespace", "ResourceQuota", "CustomResourceDefinition"}
    ]
    assert len(core) >= 7  # 4 namespaces and 3 quotas, plus the chart's CRDs
    for manifest in core:
        kubernetes_validate.validate(manifest, "1.31", strict=True)


def test_the_chart_renders_with_these_values(mode: Mode, tmp_path: Path) -> None:
    """`helm template` of charts/plattr with the values the stack passes (tokens as text)."""
    if reason := chart_missing_reason():
        pytest.skip(reason)
    tools = pytest.importorskip("devstack.tools")
    try:
        helm = tools.binary("helm")
    except tools.StackError as error:
        pytest.skip(f"no helm binary ({error}); tools/build.sh builds it")
    values = helm_releases(template(mode[1], OPERATOR))["plattr-operator"]["Values"]
    values_file = tmp_path / "values.json"
    values_file.write_text(json.dumps(values))
    rendered = subprocess.run(
        [helm, "template", "plattr-operator", CHART_DIR, "-n", "plattr-system", "-f", values_file],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    objects = {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(rendered) if o}
    account = objects[("ServiceAccount", "plattr-operator")]
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == TOKEN
    (deployment,) = [o for (kind, _), o in objects.items() if kind == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "plattr-operator"
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["BASE_DOMAIN"]["value"] == COMMON_CONTEXT["baseDomain"]
    assert env["LEASE_NAMESPACE"]["value"] == "plattr-system"
    assert env["KEYCLOAK_ADMIN_SECRET"]["value"] == "plattr-system/keycloak-admin"
    assert "KEYCLOAK_ADMIN_PASSWORD" not in env
