"""Fixtures for the CDK app: one synthesized app per deployment mode, shared by the tests.

Synthesis costs seconds of CPU, so each context is built once per session and the tests read
its templates. Nothing here needs AWS credentials, Docker or a network.
"""

from __future__ import annotations

import pytest
from aws_cdk import Stack

from tests.support.cdk_helpers import BYO_CONTEXT, COMMON_CONTEXT, INFRA_CONTEXT, cached_synth


@pytest.fixture(scope="session")
def infra_mode(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Stack]:
    return cached_synth("infra", {**COMMON_CONTEXT, **INFRA_CONTEXT}, tmp_path_factory)


@pytest.fixture(scope="session")
def byo_mode(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Stack]:
    return cached_synth("byo", {**COMMON_CONTEXT, **BYO_CONTEXT}, tmp_path_factory)


@pytest.fixture(scope="session", params=["infra", "byo"])
def mode(request: pytest.FixtureRequest) -> tuple[str, dict[str, Stack]]:
    return request.param, request.getfixturevalue(f"{request.param}_mode")
