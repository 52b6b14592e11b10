"""The one seam between blueprint and AWS.

Every client comes from one ``Aws`` object: one boto3 session (profile,
region), one endpoint override (``--endpoint-url``, ``--local``), botocore's
standard retry mode for throttling and bounded connect/read timeouts. Every
way an AWS call can fail for reasons outside blueprint (unreachable
endpoint, missing credentials, access denied) is turned into one clear
``AwsError`` line by ``aws_errors``; credentials are never printed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from blueprint.errors import BlueprintError
from blueprint.resources import DEFAULT_REGION

if TYPE_CHECKING:  # the stubs are a development dependency only
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_s3 import S3Client

T = TypeVar("T")

_ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                  "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException",
                  "SignatureDoesNotMatch", "UnrecognizedClientException"}


class AwsError(BlueprintError):
    """AWS could not be reached or refused us; exit 2 with one line."""


# The environment variables that name a region, in the AWS CLI's order of precedence
# (boto3 alone reads only AWS_DEFAULT_REGION; CI tools usually set both).
REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")


PINNED_BY = "pinned by environment"


def pinned_source(environment: str) -> str:
    """The region source of an environment's region pin."""
    return f"{PINNED_BY} {environment}"


@dataclass(frozen=True)
class RegionChoice:
    """The region a command works in, and where that came from (printed, never silent)."""

    region: str
    # "--region", "AWS_REGION", "AWS_DEFAULT_REGION", "profile NAME", "default",
    # or "pinned by environment NAME" (an environment's region pin)
    source: str

    @property
    def is_default(self) -> bool:
        return self.source == "default"

    def describe(self) -> str:
        if self.is_default:
            return (f"region {self.region} (the default: no --region, "
                    f"{', '.join(REGION_VARIABLES)} or profile region is set)")
        if self.source.startswith(PINNED_BY):
            return f"region {self.region} ({self.source})"
        return f"region {self.region} (from {self.source})"


def choose_region(flag: str | None, environ: Mapping[str, str], profile_region: str | None,
                  profile_name: str | None) -> RegionChoice:
    """The region, by the AWS CLI's precedence: flag, environment, profile, else the default."""
    if flag:
        return RegionChoice(flag, "--region")
    for variable in REGION_VARIABLES:
        if environ.get(variable):
            return RegionChoice(environ[variable], variable)
    if profile_region:
        return RegionChoice(profile_region, f"profile {profile_name or 'default'}")
    return RegionChoice(DEFAULT_REGION, "default")


@cache
def _endpoints() -> Any:
    import botocore.loaders

    return botocore.loaders.create_loader().load_data("endpoints")


@cache
def _endpoint_resolver() -> Any:
    import botocore.regions

    return botocore.regions.EndpointResolver(_endpoints())


def partition_of(region: str) -> tuple[str, str]:
    """(partition, DNS suffix) of a region, e.g. ("aws-cn", "amazonaws.com.cn").

    A region botocore does not know yet is taken to be in the commercial
    partition, as the SDKs do.
    """
    import botocore.exceptions

    resolver = _endpoint_resolver()
    try:
        partition = str(resolver.get_partition_for_region(region))
    except botocore.exceptions.UnknownRegionError:
        partition = "aws"
    return partition, str(resolver.get_partition_dns_suffix(partition) or "amazonaws.com")


def is_aws_endpoint(url: str) -> bool:
    """True when ``url`` is an endpoint of AWS itself (any partition's DNS suffix),
    e.g. a FIPS or VPC endpoint; False for an emulator (moto, LocalStack), which
    serves S3 objects only under path-style URLs."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    suffixes = {str(p["dnsSuffix"]) for p in _endpoints()["partitions"]}
    return any(host == suffix or host.endswith("." + suffix) for suffix in suffixes)


@dataclass(frozen=True)
class AwsTarget:
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    # Only for the embedded local endpoint, which accepts any credentials.
    local_credentials: bool = False
    # Where ``region`` came from when it is not the user's --region.
    region_source: str | None = None


class Aws:
    def __init__(self, target: AwsTarget) -> None:
        self.target = target
        self._clients: dict[str, Any] = {}

    @cached_property
    def session(self) -> Any:
        import boto3
        import botocore.exceptions

        kwargs: dict[str, Any] = {}
        if self.target.profile:
            kwargs["profile_name"] = self.target.profile
        if self.target.local_credentials:
            kwargs.update(aws_access_key_id="testing", aws_secret_access_key="testing")
        try:
            session = boto3.Session(**kwargs)
        except botocore.exceptions.ProfileNotFound as err:
            raise AwsError(f"AWS profile {self.target.profile!r} not found",
                           hint="check ~/.aws/config or drop --profile") from err
        return session

    @cached_property
    def region_choice(self) -> RegionChoice:
        if self.target.region and self.target.region_source:
            return RegionChoice(self.target.region, self.target.region_source)
        profile_region = self.session._session.get_scoped_config().get("region") \
            if not self.target.local_credentials else None
        return choose_region(self.target.region, os.environ, profile_region,
                             self.session.profile_name)

    @property
    def region(self) -> str:
        return self.region_choice.region

    @property
    def emulated(self) -> bool:
        """An endpoint override that is not AWS itself (the local endpoint, LocalStack)."""
        return self.target.local_credentials or bool(
            self.target.endpoint_url and not is_aws_endpoint(self.target.endpoint_url))

    def client(self, service: str) -> Any:
        if service not in self._clients:
            from botocore.config import Config

            config = Config(
                region_name=self.region,
                retries={"mode": "standard", "max_attempts": 6},
                connect_timeout=5,
                read_timeout=60,
                # An emulator has no per-bucket host names.
                s3={"addressing_style": "path"} if self.emulated else {},
            )
            self._clients[service] = self.session.client(
                service, endpoint_url=self.target.endpoint_url, config=config)
        return self._clients[service]

    def cloudformation(self) -> CloudFormationClient:
        client: CloudFormationClient = self.client("cloudformation")
        return client

    def s3(self) -> S3Client:
        client: S3Client = self.client("s3")
        return client

    def ec2(self) -> EC2Client:
        client: EC2Client = self.client("ec2")
        return client

    def caller(self) -> tuple[str, str]:
        """(account id, ARN) of the credentials in use."""
        # No stubs for STS in the dev extra; its one answer is read defensively.
        identity = self.client("sts").get_caller_identity()
        return str(identity["Account"]), str(identity.get("Arn", ""))

    def account_id(self) -> str:
        return self.caller()[0]


def error_code(err: Exception) -> str:
    response = getattr(err, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(err: Exception) -> str:
    response = getattr(err, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(err)


def unless_error(codes: Collection[str], call: Callable[[], T], *,
                 message_contains: str = "") -> T | None:
    """``call()``, or None when AWS answers with one of ``codes`` (and, if given, a message
    containing ``message_contains``): the one place that tells "not there" from a failure."""
    import botocore.exceptions

    try:
        return call()
    except botocore.exceptions.ClientError as err:
        if error_code(err) in codes and message_contains in error_message(err):
            return None
        raise


@contextlib.contextmanager
def aws_errors(target: AwsTarget) -> Iterator[None]:
    """Map botocore's failures outside our control to one-line ``AwsError``s."""
    import botocore.exceptions as bex

    where = target.endpoint_url or f"AWS ({target.region or 'default region'})"
    try:
        yield
    except (bex.EndpointConnectionError, bex.ConnectTimeoutError,
            bex.ReadTimeoutError, bex.ConnectionClosedError) as err:
        raise AwsError(f"cannot reach {where}: {type(err).__name__}",
                       hint="check --endpoint-url / --region and your network") from err
    except (bex.NoCredentialsError, bex.PartialCredentialsError) as err:
        raise AwsError("no AWS credentials found",
                       hint="set AWS_PROFILE or use --profile, or run `aws configure`; "
                            "for a local try-out use --local") from err
    except bex.ProfileNotFound as err:
        raise AwsError(f"AWS profile not found: {err.kwargs.get('profile')}") from err
    except bex.NoRegionError as err:
        raise AwsError("no AWS region set", hint="pass --region or set AWS_REGION") from err
    except bex.ClientError as err:
        if error_code(err) in _ACCESS_DENIED:
            raise AwsError(f"access denied by AWS: {error_message(err)}",
                           hint="check the credentials' permissions for CloudFormation, "
                                "S3 and the resources in the blueprint") from err
        operation = getattr(err, "operation_name", "an AWS call")
        raise AwsError(f"{operation} failed: {error_code(err)}: {error_message(err)}") from err
    except bex.BotoCoreError as err:
        raise AwsError(f"AWS request failed: {err}") from err
    except ValueError as err:  # botocore's answer to a malformed --endpoint-url
        raise AwsError(f"invalid AWS setting: {err}",
                       hint="check --endpoint-url (e.g. http://localhost:4566)") from err
