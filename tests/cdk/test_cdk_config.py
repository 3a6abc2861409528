"""Context parsing: the defaults cdk/README.md lists, both value forms, and errors that name
the fix."""

from __future__ import annotations

import re

import pytest
from plattr_cdk.config import (
    ContextError,
    read_cicd,
    read_deployment,
    read_imported_infra,
    read_infra,
    read_operator,
)


class FakeContext:
    def __init__(self, **values: object) -> None:
        self.values = values

    def try_get_context(self, key: str) -> object:
        return self.values.get(key)


BYO = {
    "eksClusterName": "c",
    "kubectlRoleArn": "arn:aws:iam::123456789012:role/k",
    "oidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.x.amazonaws.com/id/A",
    "auroraEndpoint": "db.cluster-x.ca-central-1.rds.amazonaws.com",
    "auroraSgId": "sg-0123456789abcdef0",
}


def test_infra_defaults_are_the_documented_ones() -> None:
    settings = read_infra(FakeContext())
    assert settings.cluster_name == "plattr-nonprod"
    assert settings.node_instance_type == "t3.large"
    assert (settings.node_min_size, settings.node_max_size, settings.node_desired_size) == (2, 4, 2)
    assert (settings.aurora_min_capacity, settings.aurora_max_capacity) == (0.5, 4)


def test_cli_strings_and_cdk_json_values_parse_alike() -> None:
    from_cli = read_infra(
        FakeContext(nodeMinSize="3", nodeDesiredSize="3", nodeMaxSize="5", auroraMaxCapacity="8")
    )
    from_json = read_infra(
        FakeContext(nodeMinSize=3, nodeDesiredSize=3, nodeMaxSize=5, auroraMaxCapacity=8)
    )
    assert from_cli == from_json
    assert (from_cli.node_min_size, from_cli.aurora_max_capacity) == (3, 8.0)
    assert read_deployment(FakeContext(useInfraStack="true")).use_infra_stack is True
    assert read_deployment(FakeContext(useInfraStack=True)).use_infra_stack is True
    assert read_deployment(FakeContext()).use_infra_stack is False


@pytest.mark.parametrize(
    ("context", "named"),
    [
        ({"nodeMinSize": "two"}, "-c nodeMinSize='two' is not a number"),
        ({"nodeMaxSize": "2.5"}, "-c nodeMaxSize=2.5 must be a whole number"),
        ({"nodeMinSize": "5"}, "nodeMinSize <= nodeDesiredSize <= nodeMaxSize"),
        ({"auroraMinCapacity": "8"}, "-c auroraMinCapacity=8 exceeds -c auroraMaxCapacity=4"),
        ({"eksClusterName": "bad name"}, "-c eksClusterName='bad name' is malformed"),
    ],
)
def test_bad_infra_values_name_the_flag(context: dict[str, object], named: str) -> None:
    with pytest.raises(ContextError, match=re.escape(named)):
        read_infra(FakeContext(**context))


def test_bad_boolean_names_the_flag_and_the_values() -> None:
    with pytest.raises(ContextError, match="pass -c useInfraStack=true or useInfraStack=false"):
        read_deployment(FakeContext(useInfraStack="maybe"))


def test_missing_byo_flags_are_all_named_with_both_fixes() -> None:
    with pytest.raises(ContextError) as raised:
        read_imported_infra(FakeContext(eksClusterName="c", auroraSgId="sg-0123456789abcdef0"))
    message = str(raised.value)
    assert "kubectlRoleArn, oidcProviderArn, auroraEndpoint" in message
    assert "-c kubectlRoleArn=… -c oidcProviderArn=… -c auroraEndpoint=…" in message
    assert "-c useInfraStack=true" in message
    assert "eksClusterName," not in message


def test_malformed_byo_flag_is_named() -> None:
    with pytest.raises(ContextError, match="-c kubectlRoleArn='my-role' is malformed"):
        read_imported_infra(FakeContext(**{**BYO, "kubectlRoleArn": "my-role"}))
    assert read_imported_infra(FakeContext(**BYO)).aurora_sg_id == "sg-0123456789abcdef0"


def test_operator_defaults_and_external_dns_needs_a_zone() -> None:
    with pytest.raises(ContextError, match="-c hostedZoneId=Z…, or -c installExternalDns=false"):
        read_operator(FakeContext())
    settings = read_operator(FakeContext(installExternalDns="false"))
    assert settings.base_domain == "platform.company.dev"
    assert settings.addons.external_dns_zone is None
    assert settings.addons.cert_manager
    assert settings.addons.keycloak
    assert settings.addons.ingress_nginx
    assert settings.addons.argocd
    assert read_operator(FakeContext(hostedZoneId="Z123")).addons.external_dns_zone == "Z123"


def test_cicd_needs_github_org() -> None:
    with pytest.raises(ContextError, match="pass -c githubOrg=<org>"):
        read_cicd(FakeContext())
    with pytest.raises(ContextError, match="-c githubOrg='acme/x' is malformed"):
        read_cicd(FakeContext(githubOrg="acme/x"))
    settings = read_cicd(FakeContext(githubOrg="acme", githubRepoFilter="api-*"))
    assert (settings.github_org, settings.github_repo_filter) == ("acme", "api-*")
