"""ECR repositories that bound what they keep: a number of images, or images of an age."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ecr as ecr
from constructs import Construct

PREVIEWS_REPOSITORY = "plattr-previews"
"""Pull-request preview images: only the preview role pushes here (PlattrCicdStack)."""
PREVIEW_IMAGE_DAYS = 14
"""Preview images expire this many days after their push: each commit of a pull request
pushes a new one, and the default preview TTL is 72h."""


def keep_newest(count: int) -> ecr.LifecycleRule:
    return ecr.LifecycleRule(description=f"keep the {count} newest images", max_image_count=count)


def expire_after(days: int) -> ecr.LifecycleRule:
    return ecr.LifecycleRule(
        description=f"expire images {days} days after their push",
        max_image_age=Duration.days(days),
    )


def image_repository(
    scope: Construct, construct_id: str, name: str, rule: ecr.LifecycleRule
) -> ecr.Repository:
    """A repository scanned on push whose lifecycle `rule` expires images."""
    return ecr.Repository(
        scope,
        construct_id,
        repository_name=name,
        image_scan_on_push=True,
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[rule],
    )


def previews_repository_uri(scope: Construct) -> str:
    """The URI of the previews repository, from its fixed name: no cross-stack reference, so
    the operator and CI/CD stacks deploy independently."""
    return ecr.Repository.from_repository_name(
        scope, "PreviewsRepository", PREVIEWS_REPOSITORY
    ).repository_uri
