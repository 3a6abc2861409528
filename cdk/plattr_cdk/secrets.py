"""Secrets Manager credentials with a generated password."""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from .nag import acknowledge


def generated_credentials(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    username: str,
    description: str,
    fields: Mapping[str, str | int] | None = None,
) -> secretsmanager.Secret:
    """JSON `{"username", "password", **fields}` with a 32-character generated password."""
    secret = secretsmanager.Secret(
        scope,
        construct_id,
        secret_name=name,
        description=description,
        removal_policy=RemovalPolicy.RETAIN,
        generate_secret_string=secretsmanager.SecretStringGenerator(
            secret_string_template=json.dumps({"username": username, **(fields or {})}),
            generate_string_key="password",
            exclude_punctuation=True,
            password_length=32,
        ),
    )
    acknowledge(
        secret,
        "Rotated by hand as cdk/README.md's 'Rotating credentials' describes (update the "
        "value, then restart its readers); no rotation Lambda is deployed.",
        "AwsSolutions-SMG4",
    )
    return secret
