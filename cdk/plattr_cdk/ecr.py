"""ECR repositories that keep a bounded number of images (operator and apps alike)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ecr as ecr
from constructs import Construct


def image_repository(scope: Construct, construct_id: str, name: str, keep: int) -> ecr.Repository:
    """A scanned repository that expires everything but the `keep` newest images."""
    return ecr.Repository(
        scope,
        construct_id,
        repository_name=name,
        image_scan_on_push=True,
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[
            ecr.LifecycleRule(description=f"keep the {keep} newest images", max_image_count=keep)
        ],
    )
