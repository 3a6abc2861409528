"""A GitOps repo's `plattr-settings.yaml`: found from the path upwards to the repository's
root, overridden by the environment and flags, refused with file, key, value and rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from cli.main import run
from cli.repo_settings import SETTINGS_FILE, find_settings_file
from plattr.environments import shipped
from plattr.settings import aws_account_id_problem, base_domain_problem

TEMPLATE = Path(__file__).resolve().parents[2] / "gitops-repo-template"
TEMPLATE_APPS = sorted(
    str(path.parent.relative_to(TEMPLATE)) for path in TEMPLATE.glob("apps/*/*/application.yaml")
)


@pytest.fixture(autouse=True)
def no_settings_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BASE_DOMAIN", raising=False)
    monkeypatch.delenv("AWS_ACCOUNT_ID", raising=False)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the template, as a repository checkout; the working directory."""
    root = tmp_path / "gitops"
    shutil.copytree(TEMPLATE, root)
    (root / ".git").mkdir()
    monkeypatch.chdir(root)
    return root


def hosts(out: str) -> list[str]:
    return [
        rule["host"]
        for document in yaml.safe_load_all(out)
        if document["kind"] == "Ingress"
        for rule in document["spec"]["rules"]
    ]


@pytest.mark.parametrize("app", TEMPLATE_APPS)
def test_every_template_app_renders_with_no_flags_and_no_environment(
    repo: Path, capsys: pytest.CaptureFixture[str], app: str
) -> None:
    assert run(["render", app]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    _, environment, name = app.split("/")
    declared = shipped().get(environment)
    assert declared is not None
    assert hosts(out) == [] or declared.target(name).host("apps.example.com") in hosts(out)
    if "storage" in (repo / app / "application.yaml").read_text():
        assert "arn:aws:iam::123456789012:role/" in out


def test_found_from_the_path_upwards_and_never_above_the_repository(tmp_path: Path) -> None:
    outside = tmp_path / SETTINGS_FILE
    outside.write_text("baseDomain: outside.example.com\n")
    app = tmp_path / "repo" / "apps" / "uat" / "worker"
    app.mkdir(parents=True)
    (app / "application.yaml").touch()
    assert find_settings_file(app / "application.yaml") == outside  # no repository: up to /
    (tmp_path / "repo" / ".git").mkdir()
    assert find_settings_file(app) is None
    (tmp_path / "repo" / SETTINGS_FILE).touch()
    assert find_settings_file(app / "application.yaml") == tmp_path / "repo" / SETTINGS_FILE


def test_flags_then_environment_then_file(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = "apps/production/storefront"
    assert run(["render", app]) == 0
    assert "storefront.apps.example.com" in hosts(capsys.readouterr().out)
    monkeypatch.setenv("BASE_DOMAIN", "env.example.org")
    assert run(["render", app]) == 0
    assert "storefront.env.example.org" in hosts(capsys.readouterr().out)
    assert run(["render", app, "--base-domain", "flag.example.net"]) == 0
    assert "storefront.flag.example.net" in hosts(capsys.readouterr().out)


def test_the_cwd_is_the_start_when_the_diff_compares_git_refs(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ref that does not exist fails after the settings were found (no usage error)."""
    assert run(["diff", "no-such-ref", "HEAD", "--path", "apps"]) == 1
    assert "neither a directory nor a git ref" in capsys.readouterr().err


def test_a_missing_base_domain_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(TEMPLATE / "apps" / "uat" / "worker", tmp_path / "worker")
    (tmp_path / ".git").mkdir()
    assert run(["render", str(tmp_path / "worker")]) == 2
    assert SETTINGS_FILE in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("baseDomain: apps.example.com\nregion: ca-central-1\n", ["region", "unknown field"]),
        ("baseDomain: NOT A DOMAIN\n", ["baseDomain", base_domain_problem("NOT A DOMAIN")]),
        ('awsAccountId: "12"\n', ["awsAccountId", aws_account_id_problem("12")]),
        ("awsAccountId: 123456789012\n", ["awsAccountId", "quote numbers"]),
        ("- baseDomain\n", ["one mapping"]),
        ("baseDomain: [\n", ["not valid YAML"]),
    ],
)
def test_a_bad_file_is_refused_naming_file_key_value_and_rule(
    repo: Path, capsys: pytest.CaptureFixture[str], text: str, fragments: list[str]
) -> None:
    (repo / SETTINGS_FILE).write_text(text)
    assert run(["render", "apps/uat/worker", "--base-domain", "apps.example.com"]) == 2
    err = capsys.readouterr().err
    assert str(repo / SETTINGS_FILE) in err
    for fragment in fragments:
        assert fragment in err
    assert "Traceback" not in err


def test_a_value_from_the_file_is_checked_like_a_flag(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad value in the file is refused by the same rule, naming the file and the key."""
    (repo / SETTINGS_FILE).write_text("baseDomain: apps.example.com\n")
    assert run(["render", "apps/uat/worker", "--environment", "qa"]) == 2
    assert "environment override (from --environment): 'qa'" in capsys.readouterr().err
