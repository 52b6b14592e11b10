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
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from blueprint.errors import BlueprintError
from blueprint.resources import DEFAULT_REGION

if TYPE_CHECKING:  # the stubs are a development dependency only
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_s3 import S3Client

T = TypeVar("T")

_ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                  "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException",
                  "SignatureDoesNotMatch", "UnrecognizedClientException"}


class AwsError(BlueprintError):
    """AWS could not be reached or refused us; exit 2 with one line."""


@dataclass(frozen=True)
class AwsTarget:
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    # Only for the embedded local endpoint, which accepts any credentials.
    local_credentials: bool = False


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

    @property
    def region(self) -> str:
        return self.target.region or self.session.region_name or DEFAULT_REGION

    def client(self, service: str) -> Any:
        if service not in self._clients:
            from botocore.config import Config

            config = Config(
                region_name=self.region,
                retries={"mode": "standard", "max_attempts": 6},
                connect_timeout=5,
                read_timeout=60,
                s3={"addressing_style": "path"} if self.target.endpoint_url else {},
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
