"""The storage provisioner against a real moto server (tools/devstack): bucket settings,
anonymous access, the IRSA role, zero writes on a second ensure, drift, drop."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from controller.provisioners.interfaces import ProvisionerError
from controller.provisioners.storage import ACCESS_POLICY_NAME, S3Provisioner
from devstack import Moto
from plattr.models import Bucket
from plattr.naming import Target

pytestmark = pytest.mark.stack

ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/PLATTRTEST"
BUCKETS = [Bucket(name="uploads"), Bucket(name="assets", public=True)]
ALL_BLOCKED = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


@pytest.fixture(scope="module")
def oidc_provider_arn(moto: Moto) -> str:
    """The cluster's IAM OIDC provider, as EKS registers it."""
    iam = moto.client("iam")
    found = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    if found := [arn for arn in found if arn.endswith(ISSUER)]:
        return found[0]
    answer = iam.create_open_id_connect_provider(
        Url=f"https://{ISSUER}", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["0" * 40]
    )
    arn: str = answer["OpenIDConnectProviderArn"]
    return arn


@pytest.fixture
def provisioner(moto: Moto, oidc_provider_arn: str) -> S3Provisioner:
    return S3Provisioner(
        moto.client("s3"),
        moto.client("iam"),
        oidc_provider_arn=oidc_provider_arn,
        prefix="plattr-test",
    )


@pytest.fixture
def target() -> Target:
    return Target(f"shop-{uuid.uuid4().hex[:6]}", "staging")


@pytest.fixture
def names(provisioner: S3Provisioner, target: Target) -> Iterator[dict[str, str]]:
    names, changed = provisioner.ensure(target, BUCKETS)
    assert changed is True
    yield names
    provisioner.drop(target, list(names), empty_first=True)


def _anonymous(moto: Moto) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=moto.endpoint_url,
        region_name=moto.region,
        config=Config(signature_version=UNSIGNED),
    )


def _tags(s3: Any, bucket: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}


def test_names_come_from_the_prefix_and_naming(names: dict[str, str], target: Target) -> None:
    assert names == {
        "uploads": target.bucket("plattr-test", "uploads"),
        "assets": target.bucket("plattr-test", "assets"),
    }


def test_buckets_have_tags_and_access_settings(
    moto: Moto, names: dict[str, str], target: Target
) -> None:
    s3 = moto.client("s3")
    for bucket in names.values():
        assert _tags(s3, bucket) == {
            "app": target.app,
            "environment": "staging",
            "managed-by": "plattr",
        }
    private = s3.get_public_access_block(Bucket=names["uploads"])
    assert private["PublicAccessBlockConfiguration"] == ALL_BLOCKED
    with pytest.raises(ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=names["uploads"])
    public = s3.get_public_access_block(Bucket=names["assets"])
    assert public["PublicAccessBlockConfiguration"] == ALL_BLOCKED | {
        "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False,
    }
    (statement,) = json.loads(s3.get_bucket_policy(Bucket=names["assets"])["Policy"])["Statement"]
    assert statement["Principal"] == "*"
    assert statement["Action"] == "s3:GetObject"
    assert statement["Resource"] == f"arn:aws:s3:::{names['assets']}/*"


def test_private_bucket_refuses_anonymous_reads(moto: Moto, names: dict[str, str]) -> None:
    s3 = moto.client("s3")
    s3.put_object(Bucket=names["uploads"], Key="invoice.pdf", Body=b"private")
    s3.put_object(Bucket=names["assets"], Key="logo.svg", Body=b"<svg/>")
    anonymous = _anonymous(moto)
    with pytest.raises(ClientError) as refused:
        anonymous.get_object(Bucket=names["uploads"], Key="invoice.pdf")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert anonymous.get_object(Bucket=names["assets"], Key="logo.svg")["Body"].read() == b"<svg/>"


def test_role_trusts_only_the_apps_service_account(
    moto: Moto, names: dict[str, str], target: Target, oidc_provider_arn: str
) -> None:
    role = moto.client("iam").get_role(RoleName=target.iam_role_name)["Role"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Federated": oidc_provider_arn}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{ISSUER}:sub": f"system:serviceaccount:staging:{target.app}",
            f"{ISSUER}:aud": "sts.amazonaws.com",
        }
    }


def test_role_policy_reaches_its_buckets_only(
    moto: Moto, names: dict[str, str], target: Target
) -> None:
    document = moto.client("iam").get_role_policy(
        RoleName=target.iam_role_name, PolicyName=ACCESS_POLICY_NAME
    )["PolicyDocument"]
    resources = {r for s in document["Statement"] for r in s["Resource"]}
    own = {f"arn:aws:s3:::{name}" for name in names.values()}
    assert resources == own | {f"{arn}/*" for arn in own}


def test_preview_role_is_for_the_preview_service_account(
    moto: Moto, provisioner: S3Provisioner
) -> None:
    preview = Target.preview(f"shop-{uuid.uuid4().hex[:6]}", 7)
    provisioner.ensure(preview, [Bucket(name="uploads")])
    try:
        role = moto.client("iam").get_role(RoleName=preview.iam_role_name)["Role"]
        condition = role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
        assert condition["StringEquals"][f"{ISSUER}:sub"] == (
            f"system:serviceaccount:{preview.namespace}:{preview.instance}"
        )
    finally:
        provisioner.drop(preview, ["uploads"], empty_first=True)


def test_second_ensure_makes_no_writes(moto: Moto, oidc_provider_arn: str, target: Target) -> None:
    writes: list[str] = []

    def record(model: Any, **_: Any) -> None:
        if not model.name.startswith(("Get", "Head", "List")):
            writes.append(model.name)

    s3, iam = moto.client("s3"), moto.client("iam")
    for client in (s3, iam):
        client.meta.events.register("before-call", record)
    provisioner = S3Provisioner(s3, iam, oidc_provider_arn=oidc_provider_arn, prefix="plattr-test")
    try:
        provisioner.ensure(target, BUCKETS)
        first = list(writes)
        writes.clear()
        before = provisioner.calls.snapshot()

        assert provisioner.ensure(target, BUCKETS)[1] is False

        assert writes == []
        assert (provisioner.calls.snapshot() - before).writes == 0
        assert {"CreateBucket", "PutBucketPolicy", "CreateRole"} <= set(first)
    finally:
        provisioner.drop(target, ["uploads", "assets"], empty_first=True)


def test_deleted_bucket_is_recreated(
    moto: Moto, provisioner: S3Provisioner, names: dict[str, str], target: Target
) -> None:
    s3 = moto.client("s3")
    s3.delete_bucket(Bucket=names["uploads"])

    assert provisioner.ensure(target, BUCKETS)[1] is True

    assert _tags(s3, names["uploads"])["app"] == target.app
    assert (
        s3.get_public_access_block(Bucket=names["uploads"])["PublicAccessBlockConfiguration"]
        == ALL_BLOCKED
    )


def test_drift_in_settings_and_role_is_corrected(
    moto: Moto, provisioner: S3Provisioner, names: dict[str, str], target: Target
) -> None:
    s3, iam = moto.client("s3"), moto.client("iam")
    s3.delete_public_access_block(Bucket=names["uploads"])
    s3.put_bucket_policy(
        Bucket=names["uploads"],
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{names['uploads']}/*",
                    }
                ],
            }
        ),
    )
    iam.delete_role_policy(RoleName=target.iam_role_name, PolicyName=ACCESS_POLICY_NAME)

    assert provisioner.ensure(target, BUCKETS)[1] is True

    assert (
        s3.get_public_access_block(Bucket=names["uploads"])["PublicAccessBlockConfiguration"]
        == ALL_BLOCKED
    )
    with pytest.raises(ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=names["uploads"])
    iam.get_role_policy(RoleName=target.iam_role_name, PolicyName=ACCESS_POLICY_NAME)


def test_bucket_made_private_loses_its_public_policy(
    moto: Moto, provisioner: S3Provisioner, names: dict[str, str], target: Target
) -> None:
    provisioner.ensure(target, [Bucket(name="uploads"), Bucket(name="assets")])
    s3 = moto.client("s3")
    assert (
        s3.get_public_access_block(Bucket=names["assets"])["PublicAccessBlockConfiguration"]
        == ALL_BLOCKED
    )
    with pytest.raises(ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=names["assets"])


def test_no_buckets_leaves_the_role_without_access(
    moto: Moto, provisioner: S3Provisioner, names: dict[str, str], target: Target
) -> None:
    assert provisioner.ensure(target, []) == ({}, True)
    iam = moto.client("iam")
    assert iam.list_role_policies(RoleName=target.iam_role_name)["PolicyNames"] == []
    assert provisioner.ensure(target, []) == ({}, False)


def test_drop_leaves_non_empty_buckets_and_reports_them(
    moto: Moto, provisioner: S3Provisioner, names: dict[str, str], target: Target
) -> None:
    s3 = moto.client("s3")
    s3.put_object(Bucket=names["uploads"], Key="keep.txt", Body=b"data")

    result = provisioner.drop(target, ["uploads", "assets"], empty_first=False)

    assert result.deleted == [names["assets"]]
    assert result.non_empty == [names["uploads"]]
    s3.head_bucket(Bucket=names["uploads"])
    with pytest.raises(ClientError, match="NoSuchEntity"):
        moto.client("iam").get_role(RoleName=target.iam_role_name)
    again = provisioner.drop(target, ["uploads", "assets"], empty_first=True)
    assert again.deleted == [names["uploads"]]
    assert again.non_empty == []


def test_drop_with_empty_first_deletes_everything(
    moto: Moto, provisioner: S3Provisioner, names: dict[str, str], target: Target
) -> None:
    s3 = moto.client("s3")
    for n in range(3):
        s3.put_object(Bucket=names["uploads"], Key=f"file-{n}", Body=b"x")

    result = provisioner.drop(target, ["uploads", "assets"], empty_first=True)

    assert sorted(result.deleted) == sorted(names.values())
    assert result.non_empty == []
    for bucket in names.values():
        with pytest.raises(ClientError):
            s3.head_bucket(Bucket=bucket)
    assert provisioner.drop(target, ["uploads", "assets"], empty_first=True).deleted == []


def test_missing_oidc_provider_is_a_configuration_error(moto: Moto, target: Target) -> None:
    provisioner = S3Provisioner(
        moto.client("s3"), moto.client("iam"), oidc_provider_arn=None, prefix="plattr-test"
    )
    with pytest.raises(ProvisionerError) as caught:
        provisioner.ensure(target, [Bucket(name="uploads")])
    assert caught.value.reason == "StorageNotConfigured"
    assert "OIDC_PROVIDER_ARN" in str(caught.value)
    provisioner.drop(target, ["uploads"], empty_first=True)


def test_unreachable_endpoint_is_reported(target: Target) -> None:
    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url="http://127.0.0.1:1",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}, connect_timeout=1),
        )

    provisioner = S3Provisioner(
        client("s3"),
        client("iam"),
        oidc_provider_arn=f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}",
    )
    with pytest.raises(ProvisionerError) as caught:
        provisioner.ensure(target, [Bucket(name="uploads")])
    assert caught.value.reason == "StorageUnreachable"
    assert "HeadBucket" in str(caught.value)
