"""The IAM and bucket policy documents of an app's storage, as plain dicts (pure functions).

The IAM role is for IRSA: only the app's ServiceAccount, through the cluster's OIDC
provider, may assume it, and it reaches the app's own buckets only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from plattr.naming import Target

VERSION: Final = "2012-10-17"
STS_AUDIENCE: Final = "sts.amazonaws.com"
PUBLIC_READ_SID: Final = "PlattrPublicRead"
Document = dict[str, Any]


def oidc_issuer_from_arn(provider_arn: str) -> str:
    """`arn:aws:iam::123:oidc-provider/oidc.eks.x.amazonaws.com/id/ABC` → the issuer host
    and path, as IAM condition keys spell it."""
    _, sep, issuer = provider_arn.partition(":oidc-provider/")
    if not sep or not issuer:
        raise ValueError(
            f"{provider_arn!r} is not an IAM OIDC provider ARN "
            "(arn:aws:iam::<account>:oidc-provider/<issuer>); check OIDC_PROVIDER_ARN"
        )
    return issuer


def trust_policy(target: Target, provider_arn: str, issuer: str) -> Document:
    """Who may assume the app's role: its ServiceAccount (`target.instance` in its namespace)."""
    issuer = issuer.removeprefix("https://").rstrip("/")
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer}:sub": f"system:serviceaccount:{target.namespace}:"
                        f"{target.instance}",
                        f"{issuer}:aud": STS_AUDIENCE,
                    }
                },
            }
        ],
    }


def bucket_access_policy(bucket_names: Sequence[str]) -> Document:
    """Read, write and list the app's own buckets; nothing else."""
    buckets = [f"arn:aws:s3:::{name}" for name in sorted(bucket_names)]
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ListOwnBuckets",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
                "Resource": buckets,
            },
            {
                "Sid": "ReadWriteOwnObjects",
                "Effect": "Allow",
                "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                "Resource": [f"{bucket}/*" for bucket in buckets],
            },
        ],
    }


def public_read_policy(bucket_name: str) -> Document:
    """Anyone may read objects (not list the bucket, not write)."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": PUBLIC_READ_SID,
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket_name}/*",
            }
        ],
    }


def public_access_block(*, public: bool) -> dict[str, bool]:
    """All four blocks for a private bucket; a public one keeps ACLs blocked and allows the
    public-read bucket policy."""
    return {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": not public,
        "RestrictPublicBuckets": not public,
    }
