"""`plattr render` and `plattr-cmp` take the same options through one validated type: the
same values are refused with the same rule, each entry point naming where the value came
from."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import NamedTuple

import pytest

from cli import cmp
from cli.main import run
from renderer.options import InvalidOption, PreviewParams, RenderOptions, pull_request_number

TEMPLATE = Path(__file__).resolve().parents[2] / "gitops-repo-template"
GOOD = {"base_domain": "apps.example.com", "aws_account_id": "123456789012"}


class Refused(NamedTuple):
    field: str
    value: str
    flag: str
    variable: str


REFUSED = [
    Refused("base_domain", "NOT A DOMAIN", "--base-domain", "ARGOCD_ENV_BASE_DOMAIN"),
    Refused("base_domain", "evil.example.com/../x", "--base-domain", "BASE_DOMAIN"),
    Refused("aws_account_id", "12", "--aws-account-id", "AWS_ACCOUNT_ID"),
    Refused("environment", "qa", "--environment", "PARAM_ENVIRONMENT"),
    Refused("pull_request", "0", "--preview-pr", "ARGOCD_ENV_PREVIEW_PR"),
    Refused("pull_request", "7; touch x", "--preview-pr", "ARGOCD_ENV_PREVIEW_PR"),
    Refused("image_tag", "bad tag;rm", "--image-tag", "ARGOCD_ENV_PREVIEW_IMAGE_TAG"),
    Refused("head_sha", "XYZ", "--head-sha", "ARGOCD_ENV_PREVIEW_HEAD_SHA"),
    Refused("ttl", "forever", "--ttl", "ARGOCD_ENV_PREVIEW_TTL"),
    Refused(
        "image_repository",
        "registry.local/team/web:1.0",
        "--preview-image-repository",
        "PREVIEW_IMAGE_REPOSITORY",
    ),
]
PREVIEW_FIELDS = ("image_tag", "head_sha", "ttl", "image_repository")


def rule(field: str, value: str) -> str:
    """The rule text the options types give for this value."""
    try:
        if field == "pull_request":
            PreviewParams(pull_request_number(value))
        elif field in PREVIEW_FIELDS:
            PreviewParams(1, **{field: value})
        else:
            RenderOptions(**{**GOOD, field: value})
    except InvalidOption as error:
        return error.problem
    raise AssertionError(f"{field}={value!r} was accepted")


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """The uat worker (no storage) in a repository without a settings file."""
    directory = tmp_path / "repo" / "apps" / "uat" / "worker"
    shutil.copytree(TEMPLATE / "apps" / "uat" / "worker", directory)
    (tmp_path / "repo" / ".git").mkdir()
    return directory


@pytest.mark.parametrize("case", REFUSED, ids=lambda case: f"{case.field}={case.value}")
def test_both_entry_points_refuse_the_same_value_with_the_same_rule(
    app: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], case: Refused
) -> None:
    field, value, flag, variable = case
    expected = rule(field, value)
    monkeypatch.delenv("BASE_DOMAIN", raising=False)
    monkeypatch.delenv("AWS_ACCOUNT_ID", raising=False)
    flags = {"--base-domain": GOOD["base_domain"], flag: value}
    if field in PREVIEW_FIELDS:
        flags.setdefault("--preview-pr", "7")
    argv = ["render", str(app), *(part for item in flags.items() for part in item)]
    assert run(argv) == 2
    cli_error = capsys.readouterr().err
    assert f"(from {flag}): {expected}" in cli_error

    env = {"BASE_DOMAIN": GOOD["base_domain"], variable: value}
    if field in PREVIEW_FIELDS:
        env["ARGOCD_ENV_PREVIEW_PR"] = "7"
    monkeypatch.chdir(app)
    assert cmp.run(["generate"], env) == 1
    plugin = capsys.readouterr()
    assert plugin.out == ""
    assert f"(from {variable}): {expected}" in plugin.err


def test_a_parameter_is_named_as_a_parameter(
    app: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(app)
    parameters = '[{"name": "base-domain", "string": "NOT A DOMAIN"}]'
    env = {"BASE_DOMAIN": "apps.example.com", "ARGOCD_APP_PARAMETERS": parameters}
    assert cmp.run(["generate"], env) == 1
    err = capsys.readouterr().err
    assert "(from the base-domain parameter (ARGOCD_APP_PARAMETERS))" in err
    assert rule("base_domain", "NOT A DOMAIN") in err


def test_an_environment_override_from_any_source_lifts_the_source_path_check(
    app: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The app lives under apps/uat/ and says uat: rendered for staging only by an override,
    whichever way Argo CD passes it."""
    monkeypatch.chdir(app)
    base = {"BASE_DOMAIN": "apps.example.com", "ARGOCD_APP_SOURCE_PATH": "apps/uat/worker"}
    overrides = [
        {"ARGOCD_APP_PARAMETERS": '[{"name": "environment", "string": "staging"}]'},
        {"PARAM_ENVIRONMENT": "staging"},
        {"ARGOCD_ENV_ENVIRONMENT": "staging"},
    ]
    for override in overrides:
        assert cmp.run(["generate"], {**base, **override}) == 0, capsys.readouterr().err
        assert '"namespace":"staging"' in capsys.readouterr().out
