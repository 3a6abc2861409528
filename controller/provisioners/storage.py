"""The storage provisioner: an app's S3 buckets and the IAM role (IRSA) that reaches them.

Every bucket is read before anything is written (HeadBucket, GetBucketTagging,
GetPublicAccessBlock, GetBucketPolicy; GetRole, GetRolePolicy for the role) and only what
differs is written, so a no-op ensure makes reads only. Order matters where S3 enforces it:
a public bucket's access block is relaxed before its read-only policy is put; a private
bucket's block goes on before a stale public policy is deleted. Plattr owns the policies of
its buckets: a private bucket keeps none.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any, Final

from botocore.exceptions import ClientError

from controller.provisioners import aws
from controller.provisioners import storage_policies as policies
from controller.provisioners.aws import aws_errors, count_calls, error_code
from controller.provisioners.counting import CallCounter
from controller.provisioners.interfaces import BucketDropResult, ProvisionerError
from plattr.labels import BUCKET_TAG_MANAGED_BY
from plattr.models import Bucket
from plattr.naming import Target

log = logging.getLogger(__name__)

DEFAULT_PREFIX: Final = "plattr"
ACCESS_POLICY_NAME: Final = "plattr-buckets"
_TAG_KEY, _TAG_VALUE = BUCKET_TAG_MANAGED_BY
_REASON: Final = "StorageError"
_S3_FIX: Final = "check the controller's IAM permissions on S3 and the bucket's state"
_IAM_FIX: Final = "check the controller's IAM permissions (iam:*Role*, iam:*RolePolicy)"
_MISSING_BUCKET: Final = frozenset({"404", "NoSuchBucket", "NotFound"})
_MISSING_ROLE: Final = frozenset({"NoSuchEntity"})
_DELETE_BATCH: Final = 1000


def tags_of(target: Target) -> dict[str, str]:
    return {"app": target.app, "environment": target.env, _TAG_KEY: _TAG_VALUE}


class S3Provisioner:
    """`StorageProvisioner` on S3 and IAM (moto in tests). `calls` counts API operations:
    Get/Head/List as reads, everything else as writes."""

    def __init__(
        self,
        s3: Any,
        iam: Any,
        *,
        oidc_provider_arn: str | None,
        oidc_issuer: str | None = None,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self._s3, self._iam, self._prefix = s3, iam, prefix
        self._provider_arn = oidc_provider_arn
        self._issuer = oidc_issuer or (
            policies.oidc_issuer_from_arn(oidc_provider_arn) if oidc_provider_arn else None
        )
        self.calls = CallCounter()
        count_calls(s3, self.calls)
        count_calls(iam, self.calls)

    @classmethod
    def from_settings(
        cls,
        *,
        region: str,
        endpoint_url: str | None,
        oidc_provider_arn: str | None,
        oidc_issuer: str | None = None,
        prefix: str = DEFAULT_PREFIX,
    ) -> S3Provisioner:
        """Clients from the default credential chain (IRSA in the cluster)."""
        return cls(
            aws.client("s3", region=region, endpoint_url=endpoint_url),
            aws.client("iam", region=region, endpoint_url=endpoint_url),
            oidc_provider_arn=oidc_provider_arn,
            oidc_issuer=oidc_issuer,
            prefix=prefix,
        )

    def bucket_name(self, target: Target, logical_name: str) -> str:
        return target.bucket(self._prefix, logical_name)

    # --- the interface ------------------------------------------------------------------

    def ensure(self, target: Target, buckets: Sequence[Bucket]) -> tuple[dict[str, str], bool]:
        names = {bucket.name: self.bucket_name(target, bucket.name) for bucket in buckets}
        changed = False
        for bucket in buckets:
            changed |= _BucketState(self._s3, names[bucket.name]).ensure(target, bucket.public)
        changed |= self._ensure_role(target, list(names.values()))
        return names, changed

    def drop(
        self, target: Target, buckets: Sequence[str], *, empty_first: bool
    ) -> BucketDropResult:
        """Non-empty buckets are left and reported unless `empty_first`; the role goes
        either way (it grants nothing once the app's ServiceAccount is gone)."""
        result = BucketDropResult(deleted=[], non_empty=[])
        for logical_name in buckets:
            name = self.bucket_name(target, logical_name)
            state = _BucketState(self._s3, name)
            if not state.exists():
                continue
            owner = state.owner()
            if owner is not None and owner != (target.app, target.env):
                log.warning("storage: %s belongs to %s/%s; not dropped", name, *owner)
                continue
            if not state.is_empty():
                if not empty_first:
                    result.non_empty.append(name)
                    continue
                state.empty()
            state.delete()
            result.deleted.append(name)
        self._drop_role(target)
        if result.deleted or result.non_empty:
            log.info(
                "storage: %s/%s: deleted %s, left non-empty %s",
                target.app,
                target.env,
                result.deleted,
                result.non_empty,
            )
        return result

    # --- the IAM role -------------------------------------------------------------------

    def _ensure_role(self, target: Target, bucket_names: list[str]) -> bool:
        if not self._provider_arn or not self._issuer:
            raise ProvisionerError(
                "StorageNotConfigured",
                f"cannot create IAM role {target.iam_role_name}: the cluster's OIDC provider "
                "is not configured; set OIDC_PROVIDER_ARN (and OIDC_ISSUER if it differs)",
            )
        trust = policies.trust_policy(target, self._provider_arn, self._issuer)
        created, changed = self._ensure_trusted_role(target, trust)
        return self._ensure_access_policy(target.iam_role_name, bucket_names, created) or changed

    def _ensure_trusted_role(self, target: Target, trust: dict[str, Any]) -> tuple[bool, bool]:
        """(created, changed) for the role itself: trust policy and tags."""
        role, tags = target.iam_role_name, tags_of(target)
        with aws_errors(_REASON, f"IAM GetRole of IAM role {role}", _IAM_FIX):
            current = _get_or_none(self._iam.get_role, _MISSING_ROLE, RoleName=role)
        if current is None:
            with aws_errors(_REASON, f"IAM CreateRole of IAM role {role}", _IAM_FIX):
                self._iam.create_role(
                    RoleName=role,
                    AssumeRolePolicyDocument=json.dumps(trust),
                    Description=f"Plattr: {target.app} in {target.env} (its buckets only)",
                    Tags=_tag_list(tags),
                )
            return True, True
        found, changed = current["Role"], False
        if _as_document(found.get("AssumeRolePolicyDocument")) != trust:
            with aws_errors(_REASON, f"IAM UpdateAssumeRolePolicy of IAM role {role}", _IAM_FIX):
                self._iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(trust))
            changed = True
        if not tags.items() <= _tag_dict(found.get("Tags", [])).items():
            with aws_errors(_REASON, f"IAM TagRole of IAM role {role}", _IAM_FIX):
                self._iam.tag_role(RoleName=role, Tags=_tag_list(tags))
            changed = True
        return False, changed

    def _ensure_access_policy(self, role: str, bucket_names: list[str], created: bool) -> bool:
        """The inline policy on exactly these buckets; none when there are none."""
        found = None
        if not created:
            with aws_errors(_REASON, f"IAM GetRolePolicy of IAM role {role}", _IAM_FIX):
                found = _get_or_none(
                    self._iam.get_role_policy,
                    _MISSING_ROLE,
                    RoleName=role,
                    PolicyName=ACCESS_POLICY_NAME,
                )
        if not bucket_names:
            if found is None:
                return False
            with aws_errors(_REASON, f"IAM DeleteRolePolicy of IAM role {role}", _IAM_FIX):
                self._iam.delete_role_policy(RoleName=role, PolicyName=ACCESS_POLICY_NAME)
            return True
        access = policies.bucket_access_policy(bucket_names)
        if found is not None and _as_document(found.get("PolicyDocument")) == access:
            return False
        with aws_errors(_REASON, f"IAM PutRolePolicy of IAM role {role}", _IAM_FIX):
            self._iam.put_role_policy(
                RoleName=role, PolicyName=ACCESS_POLICY_NAME, PolicyDocument=json.dumps(access)
            )
        return True

    def _drop_role(self, target: Target) -> None:
        role = target.iam_role_name
        with aws_errors(_REASON, f"IAM DeleteRole of IAM role {role}", _IAM_FIX):
            listed = _get_or_none(self._iam.list_role_policies, _MISSING_ROLE, RoleName=role)
            if listed is None:
                return
            for name in listed.get("PolicyNames", []):
                self._iam.delete_role_policy(RoleName=role, PolicyName=name)
            self._iam.delete_role(RoleName=role)


class _BucketState:
    """One bucket: read its settings, write what differs."""

    def __init__(self, s3: Any, name: str) -> None:
        self.s3, self.name = s3, name

    def _errors(self, operation: str) -> Any:
        return aws_errors(_REASON, f"S3 {operation} on bucket {self.name}", _S3_FIX)

    def exists(self) -> bool:
        with self._errors("HeadBucket"):
            try:
                self.s3.head_bucket(Bucket=self.name)
            except ClientError as exc:
                if error_code(exc) in _MISSING_BUCKET:
                    return False
                if error_code(exc) in {"403", "AccessDenied"}:
                    raise ProvisionerError(
                        _REASON,
                        f"bucket {self.name} exists but is not ours (S3 answered 403); bucket "
                        "names are global: set another BUCKET_PREFIX",
                    ) from None
                raise
        return True

    def ensure(self, target: Target, public: bool) -> bool:
        changed = False
        if not self.exists():
            self._create()
            changed = True
        current = self._tags()
        self._refuse_if_not_for(target, current)
        changed |= self._ensure_tags(tags_of(target), current)
        block = policies.public_access_block(public=public)
        wanted_policy = policies.public_read_policy(self.name) if public else None
        current_policy = self._policy()
        if public:  # S3 refuses a public policy while the block is on: relax it first
            changed |= self._ensure_block(block)
            if current_policy != wanted_policy:
                with self._errors("PutBucketPolicy"):
                    self.s3.put_bucket_policy(Bucket=self.name, Policy=json.dumps(wanted_policy))
                changed = True
        else:  # close the door first, then take the public policy away
            changed |= self._ensure_block(block)
            if current_policy is not None:
                with self._errors("DeleteBucketPolicy"):
                    self.s3.delete_bucket_policy(Bucket=self.name)
                changed = True
        return changed

    def _create(self) -> None:
        region = self.s3.meta.region_name
        extra = (
            {}
            if region in (None, "us-east-1")
            else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        with self._errors("CreateBucket"):
            self.s3.create_bucket(Bucket=self.name, **extra)

    def _tags(self) -> dict[str, str]:
        with self._errors("GetBucketTagging"):
            found = _get_or_none(self.s3.get_bucket_tagging, {"NoSuchTagSet"}, Bucket=self.name)
        return _tag_dict(found["TagSet"] if found else [])

    def owner(self, tags: dict[str, str] | None = None) -> tuple[str, str] | None:
        """(app, environment) from Plattr's tags; None for a bucket not tagged by Plattr."""
        tags = self._tags() if tags is None else tags
        if tags.get(_TAG_KEY) != _TAG_VALUE or "app" not in tags:
            return None
        return tags["app"], tags.get("environment", "")

    def _refuse_if_not_for(self, target: Target, tags: dict[str, str]) -> None:
        """A bucket under the app's derived name may belong to another app (made by hand, or
        under an older naming): the app never takes it over."""
        owner = self.owner(tags)
        if owner is not None and owner != (target.app, target.env):
            raise ProvisionerError(
                _REASON,
                f"bucket {self.name} belongs to app {owner[0]} in {owner[1]}: its name "
                "collides with one of this app's buckets; rename this app's bucket",
            )

    def _ensure_tags(self, wanted: dict[str, str], current: dict[str, str]) -> bool:
        if wanted.items() <= current.items():
            return False
        with self._errors("PutBucketTagging"):
            self.s3.put_bucket_tagging(
                Bucket=self.name, Tagging={"TagSet": _tag_list(current | wanted)}
            )
        return True

    def _ensure_block(self, wanted: dict[str, bool]) -> bool:
        with self._errors("GetPublicAccessBlock"):
            found = _get_or_none(
                self.s3.get_public_access_block,
                {"NoSuchPublicAccessBlockConfiguration"},
                Bucket=self.name,
            )
        if found and found.get("PublicAccessBlockConfiguration") == wanted:
            return False
        with self._errors("PutPublicAccessBlock"):
            self.s3.put_public_access_block(Bucket=self.name, PublicAccessBlockConfiguration=wanted)
        return True

    def _policy(self) -> dict[str, Any] | None:
        with self._errors("GetBucketPolicy"):
            found = _get_or_none(
                self.s3.get_bucket_policy, {"NoSuchBucketPolicy"}, Bucket=self.name
            )
        return _as_document(found["Policy"]) if found else None

    def is_empty(self) -> bool:
        with self._errors("ListObjectVersions"):
            page = self.s3.list_object_versions(Bucket=self.name, MaxKeys=1)
        return not (page.get("Versions") or page.get("DeleteMarkers"))

    def empty(self) -> None:
        with self._errors("DeleteObjects"):
            pages = self.s3.get_paginator("list_object_versions").paginate(Bucket=self.name)
            for page in pages:
                keys = [
                    {"Key": item["Key"], "VersionId": item["VersionId"]}
                    for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                for start in range(0, len(keys), _DELETE_BATCH):
                    batch = keys[start : start + _DELETE_BATCH]
                    self.s3.delete_objects(
                        Bucket=self.name, Delete={"Objects": batch, "Quiet": True}
                    )

    def delete(self) -> None:
        with self._errors("DeleteBucket"):
            self.s3.delete_bucket(Bucket=self.name)


def _get_or_none(call: Any, missing: set[str] | frozenset[str], **params: Any) -> Any:
    """`call(**params)`, or None when AWS answers that the thing does not exist."""
    try:
        return call(**params)
    except ClientError as exc:
        if error_code(exc) in missing:
            return None
        raise


def _as_document(value: Any) -> Any:
    """IAM documents come decoded by boto3; S3 policies come as JSON text."""
    return json.loads(value) if isinstance(value, str) else value


def _tag_dict(tags: list[dict[str, str]]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags}


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
