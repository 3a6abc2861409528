"""Derived names: the documented forms, the limits of each system, stable shortening."""

from __future__ import annotations

import re

import pytest

from plattr import patterns
from plattr.environments import shipped
from plattr.naming import Target, shorten

LONG = ("a" + "-very-long-application-name" * 3)[:63]  # the longest valid app name


def test_environments_map_to_namespaces_and_hosts() -> None:
    """As the shipped declaration has them: production apps on the bare domain."""
    declared = shipped()
    production, staging, uat = (declared.require(name) for name in ("production", "staging", "uat"))
    assert production.target("web").namespace == "production"
    assert production.target("web").host("example.com") == "web.example.com"
    assert staging.target("web").host("example.com") == "web.staging.example.com"
    assert uat.target("web").namespace == "uat"


def test_a_target_outside_any_declaration_takes_the_default_pattern() -> None:
    assert Target("web", "qa").namespace == "qa"
    assert Target("web", "qa").host("example.com") == "web.qa.example.com"


def test_a_preview_has_its_own_namespace_host_and_names() -> None:
    preview = Target.preview("web", 42)
    assert preview.is_preview
    assert preview.namespace == "preview-web-pr-42"
    assert preview.host("example.com") == "web-pr-42.preview.example.com"
    assert preview.instance == "web-pr-42"
    assert preview.secret_name("db") == "web-pr-42-db"
    assert preview.schema == "web_pr_42"


def test_database_names_follow_the_architecture() -> None:
    target = Target("my-frontend", "production")
    assert target.schema == "my_frontend_production"
    assert target.login_role == "my_frontend_production"
    assert target.anon_role == "my_frontend_production_anon"
    assert target.secret_name("db") == "my-frontend-db"
    assert target.config_map_name("storage") == "my-frontend-storage"
    assert target.secret_name("auth") == "my-frontend-auth"


def test_aws_and_keycloak_names() -> None:
    target = Target("my-frontend", "staging")
    assert target.bucket("plattr", "uploads") == "plattr-my-frontend-staging-uploads"
    assert target.iam_role_name == "plattr-my-frontend-staging"
    assert target.iam_role_arn("123456789012") == (
        "arn:aws:iam::123456789012:role/plattr-my-frontend-staging"
    )
    assert target.realm == "my-frontend-staging"
    assert target.client_id == "my-frontend"


@pytest.mark.parametrize("env", ["production", "staging", "uat", "pr-123456"])
def test_long_names_stay_within_every_limit_and_stay_valid(env: str) -> None:
    target = Target(LONG, env)
    dns = re.compile(patterns.DNS1123_LABEL)
    for name in (target.namespace, target.instance, target.realm, target.secret_name("auth")):
        assert len(name) <= 63
        assert dns.match(name), name
    assert len(target.anon_role) <= 63
    assert re.fullmatch(r"[a-z_][a-z0-9_]*", target.schema)
    bucket = target.bucket("plattr-123456789012", "customer-uploads")
    assert 3 <= len(bucket) <= 63
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*[a-z0-9]", bucket)
    assert len(target.iam_role_name) <= 64


def test_shortening_is_stable_and_distinguishes_names() -> None:
    first = shorten("x" * 70 + "-one", 63)
    assert first == shorten("x" * 70 + "-one", 63)
    assert first != shorten("x" * 70 + "-two", 63)
    assert len(first) == 63
    assert shorten("short", 63) == "short"


def test_shortening_never_leaves_a_trailing_separator() -> None:
    name = shorten("a" * 53 + "-" * 20, 63)
    assert "--" not in name[:-9]
    assert not name.endswith("-")


def test_bucket_names_cannot_meet_across_apps() -> None:
    """Without care, `a` + `x-uat-b` (staging) and `a-staging-x` + `b` (uat) both give
    `plattr-a-staging-x-uat-b`; names holding an environment segment get a hash."""
    first = Target("a", "staging").bucket("plattr", "x-uat-b")
    second = Target("a-staging-x", "uat").bucket("plattr", "b")
    assert first != second
    assert Target("a-pr-1", "production").bucket("p", "b") != Target("a", "pr-1").bucket(
        "p", "production-b"
    )
    assert Target("shop", "uat").bucket("plattr", "uploads") == "plattr-shop-uat-uploads"
