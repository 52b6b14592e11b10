"""The artifact bucket and the content-addressed upload of child templates.

CloudFormation fetches each nested template from its TemplateURL while it
builds the change set, so every URL must be readable from the stack's
region, on the host S3 has in that partition, and (when pinned) at the
version that holds exactly the checked bytes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from blueprint.aws.session import Aws, error_code, partition_of, unless_error
from blueprint.errors import BlueprintError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CreateBucketRequestTypeDef

_MISSING = ("404", "NoSuchBucket", "NoSuchKey", "NotFound")
# Without s3:ListBucket, S3 answers a read of a missing key with 403 rather than 404
# (HeadObject/GetObject docs): for a key, both mean "not there (for us)".
_KEY_ABSENT = (*_MISSING, "403", "AccessDenied", "NoSuchVersion")

KEY_PREFIX = "blueprint-templates"
# S3: "After enabling versioning on a bucket for the first time, it may take up to
# 15 minutes for the change to fully propagate"; reads may 404 meanwhile.
FRESH_BUCKET_WAIT = 15 * 60.0
READABLE_WAIT = 60.0
# On a fresh bucket one good read may come from a node that already knows the
# object while CloudFormation's read lands on one that does not yet.
FRESH_BUCKET_READS = 3


class BucketElsewhere(BlueprintError):
    """The artifact bucket is in another region than the stack: CloudFormation cannot use it."""


def default_bucket_name(account_id: str, region: str) -> str:
    return f"blueprint-artifacts-{account_id}-{region}"


def bucket_region(location: str | None) -> str:
    """GetBucketLocation's answer as a region (None is us-east-1, "EU" the old eu-west-1)."""
    if not location:
        return "us-east-1"
    return "eu-west-1" if location == "EU" else location


def ensure_bucket(aws: Aws, bucket: str, owner: str) -> bool:
    """Create the bucket when missing (encrypted, private, versioned); True if created.

    ``owner`` (the account id) goes on every call, so a bucket of the same
    name in another account is refused rather than written to. A bucket that
    exists in another region than the stack's is refused.
    """
    s3 = aws.s3()
    found = unless_error(_MISSING, lambda: s3.head_bucket(Bucket=bucket,
                                                          ExpectedBucketOwner=owner))
    if found is not None:
        where = bucket_region(s3.get_bucket_location(
            Bucket=bucket, ExpectedBucketOwner=owner).get("LocationConstraint"))
        if where != aws.region:
            raise BucketElsewhere(
                f"artifact bucket {bucket} is in {where}, the stack in {aws.region}: "
                "CloudFormation only reads nested templates from a bucket in the stack's "
                "region", hint=f"pass a --bucket in {aws.region} (or none: blueprint makes "
                               f"{default_bucket_name(owner, aws.region)})")
        return False
    request: CreateBucketRequestTypeDef = {"Bucket": bucket}
    if aws.region != "us-east-1":
        # us-east-1 is the one region that refuses its own name as a location constraint.
        request["CreateBucketConfiguration"] = {
            "LocationConstraint": aws.region}  # type: ignore[typeddict-item]
    s3.create_bucket(**request)
    s3.put_public_access_block(Bucket=bucket, ExpectedBucketOwner=owner,
                               PublicAccessBlockConfiguration={
                                   "BlockPublicAcls": True, "IgnorePublicAcls": True,
                                   "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=bucket, ExpectedBucketOwner=owner,
                             ServerSideEncryptionConfiguration={"Rules": [
                                 {"ApplyServerSideEncryptionByDefault": {
                                     "SSEAlgorithm": "AES256"}}]})
    s3.put_bucket_versioning(Bucket=bucket, ExpectedBucketOwner=owner,
                             VersioningConfiguration={"Status": "Enabled"})
    return True


def template_key(name: str, text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return f"{KEY_PREFIX}/{digest}/{name}"


def template_url(aws: Aws, bucket: str, key: str, version: str | None = None) -> str:
    """The URL CloudFormation reads the template from.

    An emulator (the local endpoint, LocalStack) serves path-style URLs on itself.
    Against AWS, including an ``--endpoint-url`` that is an AWS endpoint, it is
    S3's regional host in the region's partition (``amazonaws.com.cn`` in China):
    virtual-hosted, or path-style for a bucket name with dots, which a
    virtual host's TLS certificate does not cover.
    """
    endpoint = aws.target.endpoint_url
    if endpoint and aws.emulated:
        url = f"{endpoint.rstrip('/')}/{bucket}/{key}"
    else:
        suffix = partition_of(aws.region)[1]
        url = (f"https://s3.{aws.region}.{suffix}/{bucket}/{key}" if "." in bucket
               else f"https://{bucket}.s3.{aws.region}.{suffix}/{key}")
    return f"{url}?versionId={version}" if version else url


@dataclass(frozen=True)
class Uploaded:
    """One template in the bucket: its key and the version that holds exactly it."""

    key: str
    version: str | None
    written: bool  # put by this run (False: an identical object was already there)


def upload_templates(aws: Aws, bucket: str, owner: str, texts: dict[str, str], *,
                     fresh_bucket: bool = False, sleep: Callable[[float], None] = time.sleep,
                     ) -> dict[str, str]:
    """Put each template in the bucket; name -> the URL CloudFormation reads it from.

    An object already at the content-addressed key is reused only after its
    bytes are read back and compared: the nested template CloudFormation
    reads must be the one that was checked. Reusing it keeps the parent (and
    so the change set) unchanged when nothing changed.

    Each written object is read back (HeadObject, with its version) until S3
    serves it, bounded, before any change set asks CloudFormation to read it. On
    a bucket this run created (``fresh_bucket``) versioning may still be
    propagating: the read-back waits up to 15 minutes, for several good reads in
    a row. The URLs stay pinned to the version read back: an unpinned first
    deploy would make the next deploy update every nested stack for a URL change.
    """
    s3 = aws.s3()
    uploads = {name: _upload_one(s3, bucket, owner, name, text)
               for name, text in sorted(texts.items())}
    settle = fresh_bucket and not aws.emulated  # an emulator has nothing to propagate
    for upload in uploads.values():
        if upload.written or fresh_bucket:
            wait_until_readable(s3, bucket, owner, upload, sleep=sleep,
                                timeout=FRESH_BUCKET_WAIT if fresh_bucket else READABLE_WAIT,
                                reads=FRESH_BUCKET_READS if settle else 1)
    return {name: template_url(aws, bucket, upload.key, upload.version)
            for name, upload in uploads.items()}


def _upload_one(s3: S3Client, bucket: str, owner: str, name: str, text: str) -> Uploaded:
    key = template_key(name, text)
    body = text.encode("utf-8")
    found = _existing(s3, bucket, owner, key, body)
    if found is not None:
        return Uploaded(key, found or None, written=False)
    written = s3.put_object(Bucket=bucket, Key=key, Body=body,
                            ContentType="application/x-yaml", ExpectedBucketOwner=owner)
    return Uploaded(key, _version(written.get("VersionId")), written=True)


def _existing(s3: S3Client, bucket: str, owner: str, key: str, body: bytes) -> str | None:
    """The version of an identical object at ``key`` ("" when unversioned); None: upload."""
    found = unless_error(_KEY_ABSENT, lambda: s3.get_object(
        Bucket=bucket, Key=key, ExpectedBucketOwner=owner))
    if found is None or found["Body"].read() != body:
        return None  # absent, unreadable for us, or overwritten since: write it again
    return _version(found.get("VersionId")) or ""


def _version(version: object) -> str | None:
    # "null" is the version of an object written before versioning took effect.
    return str(version) if version and version != "null" else None


class NotReadable(BlueprintError):
    """An uploaded template did not become readable in time."""


def wait_until_readable(s3: S3Client, bucket: str, owner: str, upload: Uploaded, *,
                        timeout: float, reads: int = 1,
                        sleep: Callable[[float], None] = time.sleep,
                        clock: Callable[[], float] = time.monotonic) -> int:
    """HeadObject (with the version, when there is one) until ``reads`` good answers
    in a row; the number of calls made. 404 and 403 (a missing key without
    s3:ListBucket) count as "not yet" until ``timeout``."""
    deadline = clock() + timeout
    delay, good, calls = 1.0, 0, 0
    while True:
        calls += 1
        if _head(s3, bucket, owner, upload):
            good += 1
            if good >= reads:
                return calls
            sleep(delay)
            continue
        good = 0
        if clock() + delay > deadline:
            raise NotReadable(
                f"s3://{bucket}/{upload.key} (version {upload.version or 'latest'}) was "
                f"still not readable after {timeout:g} s",
                hint="a bucket whose versioning was just turned on can take up to 15 "
                     "minutes; the deploy role needs s3:GetObject, s3:GetObjectVersion "
                     "and s3:ListBucket on the bucket. Run the command again later")
        sleep(delay)
        delay = min(delay * 2, 20.0)


def _head(s3: S3Client, bucket: str, owner: str, upload: Uploaded) -> bool:
    import botocore.exceptions

    try:
        if upload.version:
            s3.head_object(Bucket=bucket, Key=upload.key, VersionId=upload.version,
                           ExpectedBucketOwner=owner)
        else:
            s3.head_object(Bucket=bucket, Key=upload.key, ExpectedBucketOwner=owner)
    except botocore.exceptions.ClientError as err:
        if error_code(err) in _KEY_ABSENT:
            return False
        raise
    return True
