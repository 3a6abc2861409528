"""The `plattr` CLI: exit codes 0/1/2, every error with file and line, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cli.main import run
from tests.support.render_helpers import EXAMPLE_APP

FLAGS = ["--base-domain", "example.dev", "--aws-account-id", "123456789012"]


def test_render_a_file_to_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["render", str(EXAMPLE_APP), *FLAGS]) == 0
    kinds = [d["kind"] for d in yaml.safe_load_all(capsys.readouterr().out)]
    assert kinds[-1] == "Application"


def test_render_multi_document_files_and_json_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = EXAMPLE_APP.read_text().replace("name: my-frontend", "name: other")
    (tmp_path / "apps.yaml").write_text(EXAMPLE_APP.read_text() + "---\n" + other)
    assert run(["render", str(tmp_path), "-o", "json", *FLAGS]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["kind"] == "List"
    names = {item["metadata"]["name"] for item in listing["items"] if item["kind"] == "Application"}
    assert names == {"my-frontend", "other"}


def test_base_domain_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BASE_DOMAIN", "env.example.org")
    monkeypatch.setenv("AWS_ACCOUNT_ID", "123456789012")
    assert run(["render", str(EXAMPLE_APP)]) == 0
    assert "my-frontend.env.example.org" in capsys.readouterr().out


QA = """\
environments:
  - name: staging
  - name: qa
    namespace: quality
    host: "{app}-qa.{domain}"
"""


def test_the_environments_declaration_from_a_flag_else_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    declaration = tmp_path / "environments.yaml"
    declaration.write_text(QA)
    spec = tmp_path / "apps" / "web.yaml"
    spec.parent.mkdir()
    assert run(["init", "web", "--framework", "nextjs", "--env", "qa", "-o", str(spec)]) == 2
    assert "--env: 'qa' is not a declared environment" in capsys.readouterr().err
    flags = ["--environments", str(declaration)]
    assert (
        run([*flags, "init", "web", "--framework", "nextjs", "--env", "qa", "-o", str(spec)]) == 0
    )
    render = ["render", str(spec), "--base-domain", "example.org"]
    assert run([*flags, *render]) == 0
    out = capsys.readouterr().out
    assert "namespace: quality" in out
    assert "host: web-qa.example.org" in out
    monkeypatch.setenv("PLATTR_ENVIRONMENTS_FILE", str(declaration))
    assert run(["validate", str(spec)]) == 0
    assert "web (quality) is valid" in capsys.readouterr().out
    monkeypatch.delenv("PLATTR_ENVIRONMENTS_FILE")
    assert run(render) == 1
    assert f"{spec}:8: spec.environment: 'qa' is not a declared environment" in (
        capsys.readouterr().err
    )


def test_missing_base_domain_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BASE_DOMAIN", raising=False)
    assert run(["render", str(EXAMPLE_APP)]) == 2
    assert "--base-domain" in capsys.readouterr().err


def test_validate_reports_every_error_in_every_file_with_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = EXAMPLE_APP.read_text()
    (tmp_path / "a.yaml").write_text(text.replace("framework: nextjs", "framework: rails"))
    (tmp_path / "b.yaml").write_text(
        text.replace("min: 2", "min: 50").replace("targetCPU: 70", "targetCPU: 700")
    )
    assert run(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'a.yaml'}:8: spec.framework: must be one of" in err
    assert f"{tmp_path / 'b.yaml'}:24: spec.scaling.targetCPU: must be an integer <= 100" in err
    assert "Traceback" not in err


def test_validate_ok_and_unparseable_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["validate", str(EXAMPLE_APP)]) == 0
    assert "my-frontend (production) is valid" in capsys.readouterr().out
    (tmp_path / "broken.yaml").write_text("a: [\n")
    assert run(["validate", str(tmp_path / "broken.yaml")]) == 1
    assert "not valid YAML" in capsys.readouterr().err


def test_init_writes_a_valid_starter_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "apps" / "staging" / "billing" / "application.yaml"
    assert run(["init", "billing", "--framework", "go", "--env", "staging", "-o", str(target)]) == 0
    assert run(["validate", str(target)]) == 0
    document = yaml.safe_load(target.read_text())
    assert document["spec"]["environment"] == "staging"
    assert run(["init", "billing", "--framework", "go", "--env", "staging", "-o", str(target)]) == 2
    assert "--force" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        run(["render"])
    assert raised.value.code == 2
    with pytest.raises(SystemExit) as raised:
        run(["init", "x", "--framework", "cobol", "--env", "uat"])
    assert raised.value.code == 2
