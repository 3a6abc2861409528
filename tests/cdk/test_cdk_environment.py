"""Both deployment modes synthesize with the account and region given (`cdk deploy -c account=...
-c region=...`), as they do without: every cdk-nag finding acknowledged, no account lookup.

cdk-nag writes the ARNs of its findings with the stack's real partition, region and account
when they are known, so acknowledgments written against `<AWS::Region>` placeholders alone would
fail exactly the command people deploy with. `make cdk-synth` runs the CLI both ways too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack

from tests.support.cdk_helpers import (
    BYO_CONTEXT,
    COMMON_CONTEXT,
    INFRA_CONTEXT,
    cached_synth,
    template,
)

ENVIRONMENT = {"account": "123456789012", "region": "ca-central-1"}
MODES = {"infra": INFRA_CONTEXT, "byo": BYO_CONTEXT}


def _assembly(stacks: dict[str, Stack]) -> Path:
    return Path(next(iter(stacks.values())).node.root.outdir)  # type: ignore[attr-defined]


def _synth(mode: str, factory: pytest.TempPathFactory) -> dict[str, Stack]:
    context = {**COMMON_CONTEXT, **MODES[mode], **ENVIRONMENT}
    return cached_synth(f"{mode}-with-environment", context, factory)


@pytest.fixture(scope="module", params=sorted(MODES))
def with_environment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Stack]:
    return _synth(request.param, tmp_path_factory)


def test_every_stack_is_deployed_to_the_given_account_and_region(
    with_environment: dict[str, Stack],
) -> None:
    for stack in with_environment.values():
        assert (stack.account, stack.region) == (ENVIRONMENT["account"], ENVIRONMENT["region"])


def test_every_finding_is_acknowledged(with_environment: dict[str, Stack]) -> None:
    report = json.loads((_assembly(with_environment) / "validation-report.json").read_text())
    assert report["pluginReports"] == []


def test_synth_needs_no_lookup_in_the_account(with_environment: dict[str, Stack]) -> None:
    """A missing context value is what makes the CLI call AWS (and fail without credentials)."""
    manifest: dict[str, Any] = json.loads(
        (_assembly(with_environment) / "manifest.json").read_text()
    )
    assert manifest.get("missing", []) == []


def test_the_vpc_spans_two_zones_chosen_at_deploy_time(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    infra = template(_synth("infra", tmp_path_factory), "PlattrInfraStack")
    subnets = infra.find_resources("AWS::EC2::Subnet")
    zones = {json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets.values()}
    assert zones == {json.dumps({"Fn::Select": [index, {"Fn::GetAZs": ""}]}) for index in range(2)}
