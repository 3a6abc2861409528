"""Builds the three stacks from context; a stack whose flags are wrong carries the error.

CDK builds every stack of an app whichever ones a command names, so a missing flag is
recorded as an error on the stack that needs it: `cdk deploy PlattrCicdStack` is not blocked
by the operator stack's flags, and synthesizing a stack with a missing flag fails, naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from aws_cdk import Annotations, App, Environment, Stack

from .cicd_stack import PlattrCicdStack
from .config import (
    ContextError,
    ImportedInfra,
    read_cicd,
    read_deployment,
    read_imported_infra,
    read_infra,
    read_operator,
)
from .infra_stack import PlattrInfraStack
from .nag import enable_checks
from .operator_stack import PlattrOperatorStack
from .platform import PlatformInfra

INFRA = "PlattrInfraStack"
OPERATOR = "PlattrOperatorStack"
CICD = "PlattrCicdStack"

T = TypeVar("T")


def _guarded(app: App, name: str, env: Environment, build: Callable[[], Stack]) -> Stack:
    """Build a stack; on a ContextError, an empty stack of that name carrying the error.

    `build` reads all its settings before it constructs anything, so no half-built stack of
    the same name exists when the error is caught.
    """
    try:
        return build()
    except ContextError as error:
        stack = Stack(app, name, env=env)
        Annotations.of(stack).add_error(str(error))
        return stack


def _attempt(read: Callable[[], T], problems: list[str]) -> T | None:
    """`read()`, or None with its ContextError noted, so that every problem is reported."""
    try:
        return read()
    except ContextError as error:
        problems.append(str(error))
        return None


def build(app: App) -> dict[str, Stack]:
    """Add every stack the context asks for to `app`, with cdk-nag's AwsSolutions checks."""
    ctx = app.node
    deployment = read_deployment(ctx)
    env = Environment(account=deployment.account, region=deployment.region)
    stacks: dict[str, Stack] = {}
    platform: PlatformInfra | ImportedInfra | None = None
    if deployment.use_infra_stack:
        stacks[INFRA] = _guarded(
            app, INFRA, env, lambda: PlattrInfraStack(app, INFRA, settings=read_infra(ctx), env=env)
        )
        infra = stacks[INFRA]
        platform = infra.platform if isinstance(infra, PlattrInfraStack) else None

    def operator() -> Stack:
        if deployment.use_infra_stack and platform is None:
            raise ContextError(f"{OPERATOR} needs {INFRA}, whose context flags are invalid")
        problems: list[str] = []
        imported = platform or _attempt(lambda: read_imported_infra(ctx), problems)
        settings = _attempt(lambda: read_operator(ctx), problems)
        if settings is None or imported is None:
            raise ContextError("; and ".join(problems))
        return PlattrOperatorStack(app, OPERATOR, settings=settings, platform=imported, env=env)

    stacks[OPERATOR] = _guarded(app, OPERATOR, env, operator)
    stacks[CICD] = _guarded(
        app, CICD, env, lambda: PlattrCicdStack(app, CICD, settings=read_cicd(ctx), env=env)
    )
    enable_checks(app)
    return stacks
