"""The stand-in for AWS's policy evaluation (tests.support.iam_policy) against the published
examples it must agree with.

- IAM, condition operators
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
  StringLike is case-sensitive, `*` matches several characters and `?` one, anywhere, and a
  partial match needs a wildcard; a key absent from the request makes the condition false.
- IAM, several keys or values
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html):
  the values of one key are ORed, keys and operators ANDed.
- AWS Backup's StringLike (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_Conditions.html):
  "prod*" or "*rod*" matches the value "production".
- GitHub, OIDC in AWS
  (https://docs.github.com/en/actions/how-tos/secure-your-work/security-harden-deployments/oidc-in-aws):
  `StringLike` on `repo:octo-org/octo-repo:*` allows any branch, pull request or environment
  of octo-org/octo-repo; `StringEquals` on `repo:octo-org/octo-repo:environment:prod` allows
  that environment's jobs.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.iam_policy import Unsupported, allowed, condition_holds, like

ISSUER = "token.actions.githubusercontent.com"
SUB = f"{ISSUER}:sub"
AUD = f"{ISSUER}:aud"
PROVIDER = "arn:aws:iam::123456123456:oidc-provider/token.actions.githubusercontent.com"
ASSUME = "sts:AssumeRoleWithWebIdentity"


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("prod*", "production", True),  # AWS Backup's example
        ("*rod*", "production", True),  # AWS Backup's example
        ("prod", "production", False),  # a partial match needs a wildcard
        ("Prod*", "production", False),  # case-sensitive
        ("prod?ction", "production", True),  # `?` is one character
        ("prod?ction", "prodction", False),  # ... never none
        ("prod??ction", "production", False),  # ... never two
        ("prod*ction", "prodction", True),  # `*` may be none
        ("repo:octo-org/octo-repo:*", "repo:octo-org/octo-repo:ref:refs/heads/demo-branch", True),
        ("repo:octo-org/octo-repo:*", "repo:octo-org/octo-repo:pull_request", True),
        ("repo:octo-org/octo-repo:*", "repo:octo-org/octo-repo:environment:Production", True),
        ("repo:octo-org/octo-repo:*", "repo:octo-org/octo-repo-fork:pull_request", False),
        ("a.b", "axb", False),  # everything but `*` and `?` is literal
        ("a+b", "a+b", True),
    ],
)
def test_string_like(pattern: str, value: str, matches: bool) -> None:
    assert like(pattern, value) is matches


def test_an_absent_key_makes_the_condition_false() -> None:
    assert not condition_holds({"StringLike": {SUB: "*"}}, {AUD: "sts.amazonaws.com"})


def test_values_of_a_key_are_ored_keys_and_operators_anded() -> None:
    condition = {
        "StringEquals": {AUD: "sts.amazonaws.com"},
        "StringLike": {SUB: ["repo:o/a:ref:refs/heads/*", "repo:o/b:pull_request"]},
    }
    context = {AUD: "sts.amazonaws.com", SUB: "repo:o/b:pull_request"}
    assert condition_holds(condition, context)
    assert condition_holds(condition, {**context, SUB: "repo:o/a:ref:refs/heads/x"})
    assert not condition_holds(condition, {**context, SUB: "repo:o/a:pull_request"})
    assert not condition_holds(condition, {**context, AUD: "https://github.com/o"})
    two_keys = {"StringEquals": {AUD: "sts.amazonaws.com", SUB: "repo:o/b:pull_request"}}
    assert condition_holds(two_keys, context)
    assert not condition_holds(two_keys, {**context, SUB: "repo:o/c:pull_request"})


def github_trust(condition: dict[str, Any]) -> dict[str, Any]:
    """The shape of GitHub's published AWS trust policy, with `condition`."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER},
                "Action": ASSUME,
                "Condition": condition,
            }
        ],
    }


def test_githubs_published_trust_policies() -> None:
    any_of_repo = github_trust(
        {
            "StringLike": {SUB: "repo:octo-org/octo-repo:*"},
            "StringEquals": {AUD: "sts.amazonaws.com"},
        }
    )
    environment = github_trust(
        {
            "StringEquals": {
                AUD: "sts.amazonaws.com",
                SUB: "repo:octo-org/octo-repo:environment:prod",
            }
        }
    )
    token = {AUD: "sts.amazonaws.com", SUB: "repo:octo-org/octo-repo:environment:prod"}
    assert allowed(any_of_repo, ASSUME, PROVIDER, token)
    assert allowed(environment, ASSUME, PROVIDER, token)
    branch = {**token, SUB: "repo:octo-org/octo-repo:ref:refs/heads/octo-branch"}
    assert allowed(any_of_repo, ASSUME, PROVIDER, branch)
    assert not allowed(environment, ASSUME, PROVIDER, branch)
    assert not allowed(environment, "sts:AssumeRole", PROVIDER, token)
    assert not allowed(environment, ASSUME, "arn:aws:iam::1:oidc-provider/other", token)


def test_an_applying_deny_wins_and_nothing_allowed_is_denied() -> None:
    policy = github_trust({"StringLike": {SUB: "repo:octo-org/*"}})
    deny = {**policy["Statement"][0], "Effect": "Deny", "Condition": {"StringLike": {SUB: "*:x"}}}
    policy["Statement"].append(deny)
    assert allowed(policy, ASSUME, PROVIDER, {SUB: "repo:octo-org/a:y"})
    assert not allowed(policy, ASSUME, PROVIDER, {SUB: "repo:octo-org/a:x"})
    assert not allowed({"Statement": []}, ASSUME, PROVIDER, {SUB: "repo:octo-org/a:y"})


@pytest.mark.parametrize(
    "operator", ["StringNotLike", "ForAnyValue:StringLike", "StringLikeIfExists", "ArnLike"]
)
def test_an_operator_it_does_not_know_is_refused(operator: str) -> None:
    with pytest.raises(Unsupported, match=operator):
        condition_holds({operator: {SUB: "*"}}, {SUB: "x"})
