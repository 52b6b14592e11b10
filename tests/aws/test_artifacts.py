"""The artifact bucket on real S3's terms, shown with botocore's Stubber where the local
endpoint cannot: 403 for a missing key without s3:ListBucket, versions that read 404 while
versioning propagates, a bucket in another region."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from blueprint.aws import artifacts
from blueprint.aws.artifacts import (
    BucketElsewhere,
    NotReadable,
    Uploaded,
    ensure_bucket,
    template_key,
    upload_templates,
    wait_until_readable,
)
from blueprint.aws.session import Aws, AwsTarget

BUCKET, OWNER = "blueprint-artifacts-123456789012-eu-west-1", "123456789012"
TEXT = "Resources: {}\n"
KEY = template_key("vpc.yml", TEXT)


class _Aws(Aws):
    """An ``Aws`` whose S3 client is the stubbed one."""

    def __init__(self, s3: Any) -> None:
        super().__init__(AwsTarget(region="eu-west-1", region_source="test"))
        self._clients["s3"] = s3


@pytest.fixture
def s3() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("s3", region_name="eu-west-1", aws_access_key_id="x",
                          aws_secret_access_key="y")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def error(stub: Stubber, operation: str, code: str, status: int,
          params: dict[str, Any] | None = None) -> None:
    stub.add_client_error(operation, service_error_code=code, http_status_code=status,
                          expected_params=params)


def head(stub: Stubber, version: str | None = "v1") -> None:
    params: dict[str, Any] = {"Bucket": BUCKET, "Key": KEY, "ExpectedBucketOwner": OWNER}
    if version:
        params["VersionId"] = version
    stub.add_response("head_object", {"VersionId": version or "null"}, params)


def test_a_403_for_a_missing_key_means_upload_it(s3: tuple[Any, Stubber]) -> None:
    """Without s3:ListBucket, S3 answers a read of a missing key with 403, not 404."""
    client, stub = s3
    error(stub, "get_object", "AccessDenied", 403)
    stub.add_response("put_object", {"VersionId": "v1"},
                      {"Bucket": BUCKET, "Key": KEY, "Body": ANY, "ContentType": ANY,
                       "ExpectedBucketOwner": OWNER})
    head(stub)
    urls = upload_templates(_Aws(client), BUCKET, OWNER, {"vpc.yml": TEXT}, sleep=_no_sleep)
    assert urls == {"vpc.yml": f"https://{BUCKET}.s3.eu-west-1.amazonaws.com/{KEY}?versionId=v1"}


def test_an_identical_object_is_reused_without_waiting(s3: tuple[Any, Stubber]) -> None:
    client, stub = s3
    body = StreamingBody(io.BytesIO(TEXT.encode()), len(TEXT))
    stub.add_response("get_object", {"Body": body, "VersionId": "v0"})
    urls = upload_templates(_Aws(client), BUCKET, OWNER, {"vpc.yml": TEXT}, sleep=_no_sleep)
    assert urls["vpc.yml"].endswith("?versionId=v0")


def test_a_fresh_bucket_waits_for_the_pinned_version_to_read_back(
        s3: tuple[Any, Stubber]) -> None:
    """Versioning just turned on: the new version reads 404 for a while (S3 docs)."""
    client, stub = s3
    error(stub, "get_object", "NoSuchKey", 404)
    stub.add_response("put_object", {"VersionId": "v1"})
    for code, status in (("404", 404), ("NoSuchVersion", 404), ("403", 403)):
        error(stub, "head_object", code, status)
    for _ in range(artifacts.FRESH_BUCKET_READS):
        head(stub)
    slept: list[float] = []
    urls = upload_templates(_Aws(client), BUCKET, OWNER, {"vpc.yml": TEXT},
                            fresh_bucket=True, sleep=slept.append)
    assert urls["vpc.yml"].endswith("?versionId=v1")
    assert slept[:3] == [1.0, 2.0, 4.0]  # backing off while it is not there


def test_a_version_never_readable_is_an_error_with_what_to_check(
        s3: tuple[Any, Stubber]) -> None:
    client, stub = s3
    clock = iter(float(t) for t in range(0, 1000, 7))
    for _ in range(3):
        error(stub, "head_object", "404", 404)
    with pytest.raises(NotReadable) as caught:
        wait_until_readable(client, BUCKET, OWNER, Uploaded(KEY, "v1", True), timeout=20,
                            sleep=_no_sleep, clock=lambda: next(clock))
    assert "s3:GetObjectVersion" in str(caught.value) and "15" in str(caught.value)


def test_other_s3_errors_are_not_waited_out(s3: tuple[Any, Stubber]) -> None:
    import botocore.exceptions

    client, stub = s3
    error(stub, "head_object", "InternalError", 500)
    with pytest.raises(botocore.exceptions.ClientError):
        wait_until_readable(client, BUCKET, OWNER, Uploaded(KEY, "v1", True), timeout=60,
                            sleep=_no_sleep)


def test_a_bucket_in_another_region_is_refused(s3: tuple[Any, Stubber]) -> None:
    client, stub = s3
    stub.add_response("head_bucket", {}, {"Bucket": "mine", "ExpectedBucketOwner": OWNER})
    stub.add_response("get_bucket_location", {"LocationConstraint": "us-west-2"},
                      {"Bucket": "mine", "ExpectedBucketOwner": OWNER})
    with pytest.raises(BucketElsewhere) as caught:
        ensure_bucket(_Aws(client), "mine", OWNER)
    assert "mine is in us-west-2, the stack in eu-west-1" in str(caught.value)
    assert caught.value.exit_code == 2


def test_a_bucket_in_the_stacks_region_is_used(s3: tuple[Any, Stubber]) -> None:
    client, stub = s3
    stub.add_response("head_bucket", {})
    stub.add_response("get_bucket_location", {"LocationConstraint": "eu-west-1"})
    assert ensure_bucket(_Aws(client), "mine", OWNER) is False


def _no_sleep(seconds: float) -> None:
    pass
