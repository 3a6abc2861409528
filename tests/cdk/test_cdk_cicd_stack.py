"""PlattrCicdStack: GitHub OIDC, ECR `plattr-apps`, and two roles trusted on exact claims."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack

from tests.support.cdk_helpers import cached_synth, policy_statements, resources, template

CICD = "PlattrCicdStack"
ISSUER = "token.actions.githubusercontent.com"


def _role(stacks: dict[str, Stack], prefix: str) -> dict[str, Any]:
    roles = resources(template(stacks, CICD), "AWS::IAM::Role")
    (role,) = [r["Properties"] for key, r in roles.items() if key.startswith(prefix)]
    return role


def _trust(stacks: dict[str, Stack], prefix: str) -> dict[str, Any]:
    (statement,) = _role(stacks, prefix)["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"]["Ref"].startswith("GitHubOidcProvider")
    condition: dict[str, Any] = statement["Condition"]
    return condition


@pytest.fixture(scope="module")
def filtered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Stack]:
    context = {"githubOrg": "acme", "githubRepoFilter": "shop-api", "eksClusterName": "prod-eks"}
    return cached_synth("cicd-filtered", context, tmp_path_factory)


def test_github_oidc_provider_and_apps_repository(byo_mode: dict[str, Stack]) -> None:
    cicd = template(byo_mode, CICD)
    cicd.resource_count_is("AWS::IAM::OIDCProvider", 1)
    cicd.has_resource_properties(
        "AWS::IAM::OIDCProvider",
        {"Url": f"https://{ISSUER}", "ClientIdList": ["sts.amazonaws.com"]},
    )
    (repository,) = resources(cicd, "AWS::ECR::Repository").values()
    assert repository["DeletionPolicy"] == "Retain"
    assert repository["Properties"]["RepositoryName"] == "plattr-apps"
    (rule,) = json.loads(repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])[
        "rules"
    ]
    assert rule["selection"]["countNumber"] == 50


def test_ci_role_any_branch_of_any_org_repo(byo_mode: dict[str, Stack]) -> None:
    assert _trust(byo_mode, "CiDeployRole") == {
        "StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"},
        "StringLike": {f"{ISSUER}:sub": "repo:acme/*:ref:refs/heads/*"},
    }


def test_prod_role_main_branch_only(byo_mode: dict[str, Stack]) -> None:
    assert _trust(byo_mode, "ProdDeployRole") == {
        "StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"},
        "StringLike": {f"{ISSUER}:sub": "repo:acme/*:ref:refs/heads/main"},
    }


def test_repo_filter_makes_the_prod_subject_exact(filtered: dict[str, Stack]) -> None:
    assert _trust(filtered, "ProdDeployRole") == {
        "StringEquals": {
            f"{ISSUER}:aud": "sts.amazonaws.com",
            f"{ISSUER}:sub": "repo:acme/shop-api:ref:refs/heads/main",
        }
    }
    assert _trust(filtered, "CiDeployRole")["StringLike"] == {
        f"{ISSUER}:sub": "repo:acme/shop-api:ref:refs/heads/*"
    }


@pytest.mark.parametrize("prefix", ["CiDeployRole", "ProdDeployRole"])
def test_deploy_roles_push_to_plattr_apps_and_describe_one_cluster(
    filtered: dict[str, Stack], prefix: str
) -> None:
    role = _role(filtered, prefix)
    assert role["MaxSessionDuration"] == 3600
    assert role["RoleName"].startswith("github-plattr-")  # plattr-* is the controller's
    statements = policy_statements(template(filtered, CICD), prefix)
    unscoped = [s["Action"] for s in statements if s["Resource"] == "*"]
    assert unscoped == ["ecr:GetAuthorizationToken"]
    (push,) = [s for s in statements if "ecr:PutImage" in s["Action"]]
    assert push["Resource"]["Fn::GetAtt"][0].startswith("AppsRepository")
    (describe,) = [s for s in statements if s["Action"] == "eks:DescribeCluster"]
    assert json.dumps(describe["Resource"]).endswith(':cluster/prod-eks"]]}')


def test_outputs(byo_mode: dict[str, Stack]) -> None:
    outputs = template(byo_mode, CICD).find_outputs("*")
    assert set(outputs) == {"CiDeployRoleArn", "ProdDeployRoleArn", "AppsRepositoryUri"}
