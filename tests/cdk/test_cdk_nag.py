"""cdk-nag's AwsSolutions pack runs on every synth, and every finding is acknowledged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from plattr_cdk.nag import acknowledge, enable_checks


def _report(outdir: Path) -> dict[str, object]:
    report: dict[str, object] = json.loads((outdir / "validation-report.json").read_text())
    return report


@pytest.mark.parametrize("mode", ["infra", "byo"])
def test_every_stack_passes_aws_solutions(mode: str, request: pytest.FixtureRequest) -> None:
    stacks: dict[str, Stack] = request.getfixturevalue(f"{mode}_mode")  # synth ran the checks
    outdir = Path(next(iter(stacks.values())).node.root.outdir)  # type: ignore[attr-defined]
    assert _report(outdir)["pluginReports"] == []


def _app_with_a_managed_policy(tmp_path: Path) -> tuple[App, iam.Role]:
    app = App(outdir=str(tmp_path))
    role = iam.Role(
        Stack(app, "Probe"),
        "Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("ReadOnlyAccess")],
    )
    enable_checks(app)
    return app, role


def test_an_unacknowledged_finding_fails_synth(tmp_path: Path) -> None:
    app, _ = _app_with_a_managed_policy(tmp_path)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    (report,) = _report(tmp_path)["pluginReports"]  # type: ignore[misc]
    assert report["pluginName"] == "AwsSolutions"
    assert any("AwsSolutions-IAM4" in v["ruleName"] for v in report["violations"])


def test_an_acknowledged_finding_passes(tmp_path: Path) -> None:
    app, role = _app_with_a_managed_policy(tmp_path)
    acknowledge(
        role,
        "test",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/ReadOnlyAccess]",
    )
    app.synth()
    assert _report(tmp_path)["pluginReports"] == []
