"""cdk-nag's AwsSolutions pack runs on every synth, and every finding is acknowledged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import Acknowledgment, App, IPolicyValidationPlugin, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import IConstruct
from plattr_cdk.nag import acknowledge, enable_checks

from tests.support.cdk_helpers import BYO_CONTEXT, COMMON_CONTEXT, INFRA_CONTEXT, synth


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


class _RecordingValidations:
    """aws_cdk.Validations for plattr_cdk.nag: records acknowledgments, keeps the checks."""

    def __init__(self) -> None:
        self.acknowledged: list[tuple[str, str]] = []

    def of(self, scope: IConstruct) -> _RecordingValidations._View:
        return self._View(self, scope)

    class _View:
        def __init__(self, recorder: _RecordingValidations, scope: IConstruct) -> None:
            self.recorder, self.scope = recorder, scope

        def acknowledge(self, *acknowledgments: Acknowledgment) -> None:
            self.recorder.acknowledged += [(self.scope.node.path, a.id) for a in acknowledgments]

        def add_plugins(self, *plugins: IPolicyValidationPlugin) -> None:
            Validations.of(self.scope).add_plugins(*plugins)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["infra", "byo"])
def test_every_acknowledgment_matches_a_finding(
    mode: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Synthesized without acknowledgments, the findings are exactly the acknowledged ones."""
    recorder = _RecordingValidations()
    monkeypatch.setattr("plattr_cdk.nag.Validations", recorder)
    context = {**COMMON_CONTEXT, **(INFRA_CONTEXT if mode == "infra" else BYO_CONTEXT)}
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        synth(context, tmp_path)
    findings = {
        (construct["constructPath"], violation["ruleName"])
        for report in _report(tmp_path)["pluginReports"]  # type: ignore[attr-defined]
        for violation in report["violations"]
        for construct in violation["violatingConstructs"]
    }

    def covers(scope: str, rule: str, path: str, finding: str) -> bool:
        return rule == finding and (path == scope or path.startswith(f"{scope}/"))

    unused = [a for a in recorder.acknowledged if not any(covers(*a, *f) for f in findings)]
    uncovered = [f for f in findings if not any(covers(*a, *f) for a in recorder.acknowledged)]
    assert unused == []
    assert uncovered == []
