"""Where the region comes from, which endpoints are AWS, and the URLs CloudFormation reads.

All offline: no client makes a call.
"""

from __future__ import annotations

import pytest

from blueprint.aws.artifacts import bucket_region, template_url
from blueprint.aws.session import (
    Aws,
    AwsTarget,
    choose_region,
    is_aws_endpoint,
    partition_of,
)

# (--region, environment, profile's region, region, source)
REGION_TABLE: list[tuple[str | None, dict[str, str], str | None, str, str]] = [
    ("eu-west-1", {"AWS_REGION": "us-west-2"}, "ap-south-1", "eu-west-1", "--region"),
    (None, {"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "eu-north-1"}, "ap-south-1",
     "us-west-2", "AWS_REGION"),  # the AWS CLI's order
    (None, {"AWS_DEFAULT_REGION": "eu-north-1"}, "ap-south-1", "eu-north-1",
     "AWS_DEFAULT_REGION"),
    (None, {"AWS_REGION": ""}, "ap-south-1", "ap-south-1", "profile ci"),
    (None, {}, None, "us-east-1", "default"),
]


@pytest.mark.parametrize(("flag", "environ", "profile_region", "region", "source"),
                         REGION_TABLE)
def test_region_and_where_it_came_from(flag: str | None, environ: dict[str, str],
                                       profile_region: str | None, region: str,
                                       source: str) -> None:
    choice = choose_region(flag, environ, profile_region, "ci")
    assert (choice.region, choice.source) == (region, source)
    assert region in choice.describe()


def test_the_default_region_says_it_is_a_default() -> None:
    described = choose_region(None, {}, None, None).describe()
    assert described.startswith("region us-east-1 (the default: no --region")
    assert "AWS_REGION" in described and "profile" in described


def test_a_pinned_region_says_which_environment_pins_it() -> None:
    from blueprint.aws.session import AwsTarget, pinned_source

    aws = Aws(AwsTarget(region="eu-west-1", region_source=pinned_source("prod"),
                        local_credentials=True))
    assert aws.region_choice.describe() == "region eu-west-1 (pinned by environment prod)"
    assert not aws.region_choice.is_default


def test_the_region_source_of_a_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert Aws(AwsTarget()).region_choice.describe() == \
        "region eu-central-1 (from AWS_DEFAULT_REGION)"
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    assert Aws(AwsTarget()).region == "eu-west-3"
    assert Aws(AwsTarget(region="sa-east-1")).region_choice.source == "--region"


@pytest.mark.parametrize(("url", "aws"), [
    ("http://127.0.0.1:4566", False),
    ("http://localhost:4566", False),
    ("http://localstack:4566", False),  # an emulator in docker compose
    ("https://s3.amazonaws.com.evil.example", False),
    ("https://cloudformation-fips.us-east-1.amazonaws.com", True),
    ("https://bucket.vpce-0abc.s3.eu-west-1.vpce.amazonaws.com", True),
    ("https://cloudformation.cn-north-1.amazonaws.com.cn", True),
])
def test_which_endpoints_are_aws(url: str, aws: bool) -> None:
    assert is_aws_endpoint(url) is aws


@pytest.mark.parametrize(("region", "partition", "suffix"), [
    ("us-east-1", "aws", "amazonaws.com"),
    ("cn-northwest-1", "aws-cn", "amazonaws.com.cn"),
    ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
    ("xx-future-9", "aws", "amazonaws.com"),  # unknown to this botocore: as the SDKs do
])
def test_partition_of_a_region(region: str, partition: str, suffix: str) -> None:
    assert partition_of(region) == (partition, suffix)


KEY = "blueprint-templates/abc/vpc.yml"

# (endpoint, local endpoint, region, bucket, URL)
URL_TABLE: list[tuple[str | None, bool, str, str, str]] = [
    (None, False, "eu-west-1", "artifacts", f"https://artifacts.s3.eu-west-1.amazonaws.com/{KEY}"),
    (None, False, "cn-north-1", "artifacts",
     f"https://artifacts.s3.cn-north-1.amazonaws.com.cn/{KEY}"),
    (None, False, "eu-west-1", "my.artifacts",  # dots: outside the host's TLS certificate
     f"https://s3.eu-west-1.amazonaws.com/my.artifacts/{KEY}"),
    ("http://127.0.0.1:4566", True, "us-east-1", "artifacts",
     f"http://127.0.0.1:4566/artifacts/{KEY}"),
    ("http://localstack:4566/", False, "us-east-1", "artifacts",
     f"http://localstack:4566/artifacts/{KEY}"),
    # A real AWS endpoint override (FIPS): CloudFormation still reads S3's own host.
    ("https://cloudformation-fips.us-east-2.amazonaws.com", False, "us-east-2", "artifacts",
     f"https://artifacts.s3.us-east-2.amazonaws.com/{KEY}"),
]


@pytest.mark.parametrize(("endpoint", "local", "region", "bucket", "url"), URL_TABLE)
def test_template_urls(endpoint: str | None, local: bool, region: str, bucket: str,
                       url: str) -> None:
    aws = Aws(AwsTarget(region=region, endpoint_url=endpoint, local_credentials=local,
                        region_source="test"))
    assert template_url(aws, bucket, KEY) == url
    assert template_url(aws, bucket, KEY, "v1") == f"{url}?versionId=v1"


def test_only_an_emulator_gets_path_style_s3_addressing() -> None:
    emulated = Aws(AwsTarget(region="us-east-1", endpoint_url="http://127.0.0.1:4566"))
    real = Aws(AwsTarget(region="us-east-1",
                         endpoint_url="https://s3-fips.us-east-1.amazonaws.com"))
    assert emulated.emulated and not real.emulated


@pytest.mark.parametrize(("location", "region"), [
    (None, "us-east-1"), ("", "us-east-1"), ("EU", "eu-west-1"), ("ap-south-2", "ap-south-2")])
def test_bucket_location_as_a_region(location: str | None, region: str) -> None:
    assert bucket_region(location) == region
