"""Who may assume which CI/CD role: the synthesized trust policies against the claims GitHub
sends, evaluated by the stand-in for AWS's policy evaluation (tests.support.iam_policy).

The `sub` shapes are those of GitHub's "Example subject claims"
(https://docs.github.com/en/actions/reference/security/oidc#example-subject-claims):
`repo:ORG-NAME/REPO-NAME:environment:ENVIRONMENT-NAME` when the job references an environment;
else `repo:ORG-NAME/REPO-NAME:pull_request` when a pull request event triggered the run (that
page classes `pull_request` and `pull_request_target` together as pull request events); else
`repo:ORG-NAME/REPO-NAME:ref:refs/heads/BRANCH-NAME` or `...:ref:refs/tags/TAG-NAME` (a push
or `workflow_dispatch` on a branch); and, for repositories created after 2026-07-15, the
immutable form `repo:OWNER@OWNER-ID/REPO@REPO-ID:...`. The audience is `sts.amazonaws.com` when
the job asks for it (aws-actions/configure-aws-credentials does), else the owner's URL
`https://github.com/ORG-NAME`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest
from aws_cdk import Stack

from tests.support.cdk_helpers import cached_synth, resources, template
from tests.support.iam_policy import allowed

CICD = "PlattrCicdStack"
ISSUER = "token.actions.githubusercontent.com"
STS = "sts.amazonaws.com"
ROLES = {"ci": "CiDeployRole", "prod": "ProdDeployRole", "preview": "PreviewRole"}


class Claims(NamedTuple):
    what: str
    sub: str
    aud: str
    unfiltered: frozenset[str]
    """The roles it may assume with -c githubOrg=acme."""
    filtered: frozenset[str]
    """... with -c githubRepoFilter=shop-api as well."""


def claims(
    what: str, sub: str, roles: str = "", *, aud: str = STS, other_repo: bool = False
) -> Claims:
    """`roles`: those it may assume, space-separated; `other_repo`: not shop-api."""
    allowed_roles = frozenset(roles.split())
    return Claims(what, sub, aud, allowed_roles, frozenset() if other_repo else allowed_roles)


TABLE = [
    claims("push to main", "repo:acme/shop-api:ref:refs/heads/main"),
    claims("push to a feature branch", "repo:acme/shop-api:ref:refs/heads/feature/cart"),
    claims("push of a tag", "repo:acme/shop-api:ref:refs/tags/v1.4.0"),
    claims("pull_request", "repo:acme/shop-api:pull_request", "preview"),
    claims("pull_request_target", "repo:acme/shop-api:pull_request", "preview"),
    claims("workflow_dispatch on main", "repo:acme/shop-api:ref:refs/heads/main"),
    claims("job in production", "repo:acme/shop-api:environment:production", "prod"),
    claims("job in staging", "repo:acme/shop-api:environment:staging", "ci"),
    claims("job in uat", "repo:acme/shop-api:environment:uat", "ci"),
    claims("job in an environment of another name", "repo:acme/shop-api:environment:Production"),
    claims(
        "another repo of the org, in production",
        "repo:acme/billing:environment:production",
        "prod",
        other_repo=True,
    ),
    claims(
        "another repo of the org, pull_request",
        "repo:acme/billing:pull_request",
        "preview",
        other_repo=True,
    ),
    claims("a repository outside the org", "repo:umbrella/shop-api:environment:production"),
    claims("a look-alike org", "repo:acme-evil/shop-api:environment:production"),
    claims("a look-alike org, pull_request", "repo:acme-evil/shop-api:pull_request"),
    claims("a look-alike repo", "repo:acme/shop-api-evil:pull_request", "preview", other_repo=True),
    claims(
        "the owner's URL as audience",
        "repo:acme/shop-api:environment:production",
        aud="https://github.com/acme",
    ),
    claims(
        "immutable subject claims (not trusted: cdk/README.md)",
        "repo:acme@123456/shop-api@456789:environment:production",
    ),
]


@pytest.fixture(scope="module")
def filtered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Stack]:
    context = {"githubOrg": "acme", "githubRepoFilter": "shop-api", "eksClusterName": "prod-eks"}
    return cached_synth("cicd-filtered", context, tmp_path_factory)


def may_assume(stacks: dict[str, Stack], token: Claims) -> set[str]:
    cicd = template(stacks, CICD)
    (provider,) = resources(cicd, "AWS::IAM::OIDCProvider")
    context = {f"{ISSUER}:sub": token.sub, f"{ISSUER}:aud": token.aud}
    roles: dict[str, dict[str, Any]] = resources(cicd, "AWS::IAM::Role")
    found = set()
    for name, prefix in ROLES.items():
        (role,) = [r["Properties"] for key, r in roles.items() if key.startswith(prefix)]
        trust = role["AssumeRolePolicyDocument"]
        if allowed(trust, "sts:AssumeRoleWithWebIdentity", {"Ref": provider}, context):
            found.add(name)
    return found


@pytest.mark.parametrize("token", TABLE, ids=lambda token: token.what)
def test_who_may_assume_which_role(
    byo_mode: dict[str, Stack], filtered: dict[str, Stack], token: Claims
) -> None:
    assert may_assume(byo_mode, token) == token.unfiltered
    assert may_assume(filtered, token) == token.filtered
