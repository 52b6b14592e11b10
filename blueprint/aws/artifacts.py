"""The artifact bucket and the content-addressed upload of child templates."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from blueprint.aws.session import Aws, unless_error

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CreateBucketRequestTypeDef

_MISSING = ("404", "NoSuchBucket", "NoSuchKey", "NotFound")

KEY_PREFIX = "blueprint-templates"


def default_bucket_name(account_id: str, region: str) -> str:
    return f"blueprint-artifacts-{account_id}-{region}"


def ensure_bucket(aws: Aws, bucket: str, owner: str) -> bool:
    """Create the bucket when missing (encrypted, private, versioned); True if created.

    ``owner`` (the account id) goes on every call, so a bucket of the same
    name in another account is refused rather than written to.
    """
    s3 = aws.s3()
    found = unless_error(_MISSING, lambda: s3.head_bucket(Bucket=bucket,
                                                          ExpectedBucketOwner=owner))
    if found is not None:
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
    endpoint = aws.target.endpoint_url
    if endpoint:
        # Path style: a local endpoint has no per-bucket host names.
        url = f"{endpoint.rstrip('/')}/{bucket}/{key}"
    else:
        url = f"https://{bucket}.s3.{aws.region}.amazonaws.com/{key}"
    return f"{url}?versionId={version}" if version else url


def upload_templates(aws: Aws, bucket: str, owner: str, texts: dict[str, str]) -> dict[str, str]:
    """Put each template in the bucket; name -> URL pinned to a version holding exactly it.

    An object already at the content-addressed key is reused only after its
    bytes are read back and compared: the nested template CloudFormation
    reads must be the one that was checked. Reusing it keeps the parent (and
    so the change set) unchanged when nothing changed.
    """
    s3 = aws.s3()
    urls = {}
    for name, text in sorted(texts.items()):
        key = template_key(name, text)
        body = text.encode("utf-8")
        version = _existing_version(s3, bucket, owner, key, body)
        if version is None:
            written = s3.put_object(Bucket=bucket, Key=key, Body=body,
                                    ContentType="application/x-yaml", ExpectedBucketOwner=owner)
            version = written.get("VersionId")
        urls[name] = template_url(aws, bucket, key, version or None)
    return urls


def _existing_version(s3: S3Client, bucket: str, owner: str, key: str,
                      body: bytes) -> str | None:
    found = unless_error(_MISSING, lambda: s3.get_object(
        Bucket=bucket, Key=key, ExpectedBucketOwner=owner))
    if found is None:
        return None
    if found["Body"].read() != body:
        return None  # overwritten since: write it again
    version = found.get("VersionId")
    return str(version) if version and version != "null" else None
