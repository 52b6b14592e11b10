"""The artifact bucket and the content-addressed upload of child templates."""

from __future__ import annotations

import hashlib
from typing import Any

from blueprint.aws.session import Aws, error_code

KEY_PREFIX = "blueprint-templates"


def default_bucket_name(account_id: str, region: str) -> str:
    return f"blueprint-artifacts-{account_id}-{region}"


def ensure_bucket(aws: Aws, bucket: str) -> bool:
    """Create the bucket when missing (encrypted, private, versioned); True if created."""
    s3 = aws.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except Exception as err:
        if error_code(err) not in ("404", "NoSuchBucket", "NotFound"):
            raise
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if aws.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": aws.region}
    s3.create_bucket(**kwargs)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True,
        "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return True


def template_key(name: str, text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return f"{KEY_PREFIX}/{digest}/{name}"


def template_url(aws: Aws, bucket: str, key: str) -> str:
    endpoint = aws.target.endpoint_url
    if endpoint:
        # Path style: a local endpoint has no per-bucket host names.
        return f"{endpoint.rstrip('/')}/{bucket}/{key}"
    return f"https://{bucket}.s3.{aws.region}.amazonaws.com/{key}"


def upload_templates(aws: Aws, bucket: str, texts: dict[str, str]) -> dict[str, str]:
    """Upload each template once (keys are content hashes); name -> URL."""
    s3 = aws.client("s3")
    urls = {}
    for name, text in sorted(texts.items()):
        key = template_key(name, text)
        try:
            s3.head_object(Bucket=bucket, Key=key)
        except Exception as err:
            if error_code(err) not in ("404", "NoSuchKey", "NotFound"):
                raise
            s3.put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"),
                          ContentType="application/x-yaml")
        urls[name] = template_url(aws, bucket, key)
    return urls
