"""PlattrCicdStack: GitHub OIDC, ECR `plattr-apps` and `plattr-previews`, and three roles, each
pushing to one repository."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack
from plattr_cdk.cicd_stack import NON_PRODUCTION, PRODUCTION

from plattr.environments import shipped
from tests.support.cdk_helpers import cached_synth, policy_statements, resources, template

CICD = "PlattrCicdStack"
ISSUER = "token.actions.githubusercontent.com"
ROLES = ("CiDeployRole", "ProdDeployRole", "PreviewRole")


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


def _repositories(stacks: dict[str, Stack]) -> dict[str, dict[str, Any]]:
    found = resources(template(stacks, CICD), "AWS::ECR::Repository").values()
    return {r["Properties"]["RepositoryName"]: r for r in found}


@pytest.fixture(scope="module")
def filtered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Stack]:
    context = {"githubOrg": "acme", "githubRepoFilter": "shop-api", "eksClusterName": "prod-eks"}
    return cached_synth("cicd-filtered", context, tmp_path_factory)


def test_github_oidc_provider_and_two_scanned_repositories(byo_mode: dict[str, Stack]) -> None:
    cicd = template(byo_mode, CICD)
    cicd.resource_count_is("AWS::IAM::OIDCProvider", 1)
    cicd.has_resource_properties(
        "AWS::IAM::OIDCProvider",
        {"Url": f"https://{ISSUER}", "ClientIdList": ["sts.amazonaws.com"]},
    )
    repositories = _repositories(byo_mode)
    assert set(repositories) == {"plattr-apps", "plattr-previews"}
    rules = {}
    for name, repository in repositories.items():
        assert repository["DeletionPolicy"] == "Retain"
        assert repository["Properties"]["ImageScanningConfiguration"] == {"ScanOnPush": True}
        policy = repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"]
        (rules[name],) = json.loads(policy)["rules"]
    assert rules["plattr-apps"]["selection"]["countType"] == "imageCountMoreThan"
    assert rules["plattr-apps"]["selection"]["countNumber"] == 50
    assert rules["plattr-previews"]["selection"]["countType"] == "sinceImagePushed"
    assert rules["plattr-previews"]["selection"]["countUnit"] == "days"
    assert rules["plattr-previews"]["selection"]["countNumber"] == 14


def test_each_role_trusts_its_subjects_with_sts_as_audience(byo_mode: dict[str, Stack]) -> None:
    audience = {f"{ISSUER}:aud": "sts.amazonaws.com"}
    assert _trust(byo_mode, "CiDeployRole") == {
        "StringEquals": audience,
        "StringLike": {
            f"{ISSUER}:sub": ["repo:acme/*:environment:staging", "repo:acme/*:environment:uat"]
        },
    }
    assert _trust(byo_mode, "ProdDeployRole") == {
        "StringEquals": audience,
        "StringLike": {f"{ISSUER}:sub": "repo:acme/*:environment:production"},
    }
    assert _trust(byo_mode, "PreviewRole") == {
        "StringEquals": audience,
        "StringLike": {f"{ISSUER}:sub": "repo:acme/*:pull_request"},
    }


def test_repo_filter_makes_exact_subjects_exact(filtered: dict[str, Stack]) -> None:
    assert _trust(filtered, "ProdDeployRole") == {
        "StringEquals": {
            f"{ISSUER}:aud": "sts.amazonaws.com",
            f"{ISSUER}:sub": "repo:acme/shop-api:environment:production",
        }
    }
    assert _trust(filtered, "PreviewRole")["StringEquals"][f"{ISSUER}:sub"] == (
        "repo:acme/shop-api:pull_request"
    )


def test_ci_environments_are_plattrs_environments_but_production() -> None:
    assert {PRODUCTION, *NON_PRODUCTION} == set(shipped().names)


@pytest.mark.parametrize("prefix", ROLES)
def test_each_role_pushes_to_one_repository_only(filtered: dict[str, Stack], prefix: str) -> None:
    role = _role(filtered, prefix)
    assert role["MaxSessionDuration"] == 3600
    assert role["RoleName"].startswith("github-plattr-")  # plattr-* is the controller's
    statements = policy_statements(template(filtered, CICD), prefix)
    unscoped = [s["Action"] for s in statements if s["Resource"] == "*"]
    assert unscoped == ["ecr:GetAuthorizationToken"]
    (push,) = [s for s in statements if "ecr:PutImage" in s["Action"]]
    expected = "PreviewsRepository" if prefix == "PreviewRole" else "AppsRepository"
    assert push["Resource"]["Fn::GetAtt"][0].startswith(expected)
    describe = [s for s in statements if s["Action"] == "eks:DescribeCluster"]
    if prefix == "PreviewRole":
        assert describe == []
    else:
        assert json.dumps(describe[0]["Resource"]).endswith(':cluster/prod-eks"]]}')


def test_only_the_preview_role_may_push_to_the_previews_repository(
    byo_mode: dict[str, Stack],
) -> None:
    repositories = _repositories(byo_mode)
    assert "RepositoryPolicyText" not in repositories["plattr-apps"]["Properties"]
    policy = repositories["plattr-previews"]["Properties"]["RepositoryPolicyText"]
    (deny,) = policy["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == {"AWS": "*"}
    assert "ecr:PutImage" in deny["Action"]
    role_arn = deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    assert role_arn["Fn::GetAtt"][0].startswith("PreviewRole")


def test_outputs(byo_mode: dict[str, Stack]) -> None:
    outputs = template(byo_mode, CICD).find_outputs("*")
    assert set(outputs) == {
        "CiDeployRoleArn",
        "ProdDeployRoleArn",
        "PreviewRoleArn",
        "AppsRepositoryUri",
        "PreviewsRepositoryUri",
    }
